"""cohort.errors -> gRPC status codes, in the one interceptor; unexpected errors -> INTERNAL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from structlog.testing import capture_logs

from cohort import errors
from cohort.daemon.interceptor import status_code
from cohort.sim import FaultPlan
from cohort.v1 import common_pb2, types_pb2, volumes_pb2

from .conftest import GIB, Daemon, Stubs


def rpc_error(call: object, request: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request)  # type: ignore[operator]
    return info.value


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
        (errors.NotFound, grpc.StatusCode.NOT_FOUND),
        (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
        (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
        (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.BackendError, grpc.StatusCode.ABORTED),
        (errors.Busy, grpc.StatusCode.ABORTED),
    ],
)
def test_every_error_class_maps_to_its_code(
    daemon: Daemon,
    monkeypatch: pytest.MonkeyPatch,
    error: type[errors.CohortError],
    code: grpc.StatusCode,
) -> None:
    def fail(ref: str) -> None:
        raise error(f"volume type {ref!r}: it went wrong")

    monkeypatch.setattr(daemon.manager, "get_volume_type", fail)
    exc = rpc_error(daemon.api.types.GetVolumeType, types_pb2.GetVolumeTypeRequest(volume_type="x"))
    assert exc.code() == code
    assert exc.details() == "volume type 'x': it went wrong"
    assert status_code(error("")) == code


def test_codes_from_the_real_manager(api: Stubs) -> None:
    get = api.volumes.GetVolume
    assert rpc_error(get, volumes_pb2.GetVolumeRequest(volume_id="nope")).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    missing = volumes_pb2.GetVolumeRequest(volume_id=str(uuid.uuid4()))
    assert rpc_error(get, missing).code() == grpc.StatusCode.NOT_FOUND

    api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="default"))
    other = types_pb2.CreateVolumeTypeRequest(name="default", description="other")
    assert rpc_error(api.types.CreateVolumeType, other).code() == grpc.StatusCode.ALREADY_EXISTS

    api.volumes.CreateVolume(volumes_pb2.CreateVolumeRequest(name="v", size_bytes=GIB))
    in_use = types_pb2.DeleteVolumeTypeRequest(volume_type="default")
    assert rpc_error(api.types.DeleteVolumeType, in_use).code() == (
        grpc.StatusCode.FAILED_PRECONDITION
    )

    huge = volumes_pb2.CreateVolumeRequest(name="huge", size_bytes=100 * 21 * GIB)
    assert rpc_error(api.volumes.CreateVolume, huge).code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_backend_failure_is_aborted_naming_the_object(daemon: Daemon) -> None:
    api = daemon.api
    api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="default"))
    daemon.sim.set_faults(FaultPlan.parse({"create_volume": {"raise": True}}))
    request = volumes_pb2.CreateVolumeRequest(name="doomed", size_bytes=GIB)
    exc = rpc_error(api.volumes.CreateVolume, request)
    assert exc.code() == grpc.StatusCode.ABORTED
    assert "doomed" in (exc.details() or "")
    (vol,) = api.volumes.ListVolumes(volumes_pb2.ListVolumesRequest()).volumes
    assert vol.name == "doomed" and vol.status == common_pb2.VOLUME_STATUS_ERROR


def test_unexpected_error_is_internal_and_logged(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(ref: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(daemon.manager, "get_volume_type", crash)
    request = types_pb2.GetVolumeTypeRequest(volume_type="x")
    with capture_logs() as logs, pytest.raises(grpc.RpcError) as info:
        daemon.api.types.GetVolumeType.with_call(request, metadata=[("x-request-id", "bug-1")])
    exc = info.value
    assert exc.code() == grpc.StatusCode.INTERNAL
    assert "a bug" not in (exc.details() or "")  # no internals leak to clients
    assert "bug-1" in (exc.details() or "")
    assert ("x-request-id", "bug-1") in [(m.key, m.value) for m in exc.trailing_metadata()]
    (logged,) = [e for e in logs if e["event"] == "unexpected error"]
    assert logged["log_level"] == "error"
    assert isinstance(logged["exc_info"], RuntimeError)
    rpc = [e for e in logs if e["event"] == "rpc"]
    assert rpc and rpc[-1]["code"] == "INTERNAL"


def test_unknown_status_filter_is_invalid_argument(api: Stubs) -> None:
    request = volumes_pb2.ListVolumesRequest(status=99)  # type: ignore[arg-type]
    assert rpc_error(api.volumes.ListVolumes, request).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_busy_is_unavailable_with_error_info_and_retry_info(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(ref: str) -> None:
        raise errors.ObjectBusy("volume", "v-1", "ExtendVolume")

    monkeypatch.setattr(daemon.manager, "get_volume_type", busy)
    exc = rpc_error(daemon.api.types.GetVolumeType, types_pb2.GetVolumeTypeRequest(volume_type="x"))
    assert exc.code() == grpc.StatusCode.UNAVAILABLE
    assert exc.details().startswith("busy: volume v-1 is held by ExtendVolume")
    status = rpc_status.from_call(exc)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    assert status.details[1].Unpack(retry)
    assert info.reason == "OBJECT_BUSY"
    assert info.domain == "cohort"
    assert dict(info.metadata) == {"object": "volume v-1", "operation": "ExtendVolume"}
    assert retry.retry_delay.seconds >= 1
