"""The Exports service over gRPC on the simulated backend and the in-memory target: the
connection info os-brick takes, access control, multiattach counting, lifecycle rules, restore."""

from __future__ import annotations

import json
from dataclasses import replace

import grpc
import pytest

from cohort.domain.model import VolumeStatus
from cohort.iscsi.memory import MemoryTargets
from cohort.iscsi.secrets import Sealer
from cohort.v1 import (
    capabilities_pb2,
    common_pb2,
    exports_pb2,
    group_snapshots_pb2,
    groups_pb2,
    snapshots_pb2,
    volumes_pb2,
)
from tests.api.conftest import Api
from tests.api.scenario import MIB, code_of, group_snapshot, group_with_volumes, types

HOST_A = "iqn.1994-05.com.example:host-a"
HOST_B = "iqn.1994-05.com.example:host-b"


def connector(initiator: str = HOST_A, **more: object) -> exports_pb2.Connector:
    return exports_pb2.Connector(initiator=initiator, host="host-a", ip="127.0.0.1", **more)  # type: ignore[arg-type]


def volume(api: Api, name: str = "v1") -> volumes_pb2.Volume:
    types(api)
    return api.volumes.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name=name, size_bytes=64 * MIB, volume_type="plain")
    )


def export(api: Api, volume_id: str, initiator: str = HOST_A, attachment: str = "") -> dict:  # type: ignore[type-arg]
    reply = api.exports.ExportVolume(
        exports_pb2.ExportVolumeRequest(
            volume_id=volume_id, connector=connector(initiator), attachment_id=attachment
        )
    )
    info: dict = json.loads(reply.connection_info_json)  # type: ignore[type-arg]
    return info


def targets(api: Api) -> MemoryTargets:
    held = api.manager.exports.targets
    assert isinstance(held, MemoryTargets)
    return held


def status(api: Api, volume_id: str) -> int:
    return api.volumes.GetVolume(volumes_pb2.GetVolumeRequest(volume_id=volume_id)).status


def test_export_answers_os_bricks_connection_info(api: Api) -> None:
    vol = volume(api)
    info = export(api, vol.id)
    assert info["driver_volume_type"] == "iscsi"
    data = info["data"]
    assert data["target_iqn"] == f"iqn.2026-12.org.cohort:volume-{vol.id}"
    assert data["target_portal"] == "127.0.0.1:3260"
    assert data["target_lun"] == 0
    assert data["auth_method"] == "CHAP"
    assert data["access_mode"] == "rw"
    assert data["volume_id"] == vol.id
    assert data["target_discovered"] is False
    assert "target_portals" not in data  # one portal: not the multipath form
    assert status(api, vol.id) == common_pb2.VOLUME_STATUS_IN_USE
    # The typed message is the same dict.
    reply = api.exports.ExportVolume(
        exports_pb2.ExportVolumeRequest(volume_id=vol.id, connector=connector())
    )
    assert reply.data.auth_password == data["auth_password"]
    assert reply.data.target_iqn == data["target_iqn"]
    lio = targets(api)
    assert lio.login(data["target_iqn"], HOST_A, data["auth_username"], data["auth_password"])
    assert not lio.login(data["target_iqn"], HOST_A, data["auth_username"], "wrong")
    assert not lio.login(data["target_iqn"], HOST_B, data["auth_username"], data["auth_password"])


def test_export_is_idempotent_per_initiator_and_each_initiator_has_its_credentials(
    api: Api,
) -> None:
    vol = volume(api)
    first, again = export(api, vol.id), export(api, vol.id)
    assert first == again
    other = export(api, vol.id, HOST_B)
    assert other["data"]["target_iqn"] == first["data"]["target_iqn"]
    assert other["data"]["auth_password"] != first["data"]["auth_password"]
    listed = api.exports.ListExports(exports_pb2.ListExportsRequest(object_id=vol.id)).exports
    assert [sorted(a.initiator for a in e.accesses) for e in listed] == [[HOST_A, HOST_B]]
    assert "auth_password" not in str(listed)


def test_attachments_of_one_host_share_its_access_until_the_last_goes(api: Api) -> None:
    vol = volume(api)
    export(api, vol.id, attachment="att-1")
    export(api, vol.id, attachment="att-2")
    (listed,) = api.exports.ListExports(exports_pb2.ListExportsRequest(object_id=vol.id)).exports
    assert [(a.attachments, list(a.attachment_ids)) for a in listed.accesses] == [
        (2, ["att-1", "att-2"])
    ]
    gone = api.exports.Unexport(
        exports_pb2.UnexportRequest(object_id=vol.id, connector=connector(), attachment_id="att-1")
    )
    assert list(gone.removed_initiators) == [] and not gone.target_removed
    assert status(api, vol.id) == common_pb2.VOLUME_STATUS_IN_USE
    gone = api.exports.Unexport(
        exports_pb2.UnexportRequest(object_id=vol.id, connector=connector(), attachment_id="att-2")
    )
    assert list(gone.removed_initiators) == [HOST_A] and gone.target_removed
    assert status(api, vol.id) == common_pb2.VOLUME_STATUS_AVAILABLE
    assert targets(api).present() == []


def test_unexport_without_connector_removes_every_initiator(api: Api) -> None:
    vol = volume(api)
    export(api, vol.id)
    export(api, vol.id, HOST_B)
    gone = api.exports.Unexport(exports_pb2.UnexportRequest(object_id=vol.id))
    assert sorted(gone.removed_initiators) == [HOST_A, HOST_B] and gone.target_removed
    assert code_of(api.exports.Unexport, exports_pb2.UnexportRequest(object_id=vol.id)) == (
        grpc.StatusCode.NOT_FOUND
    )


def test_unexport_of_one_initiator_keeps_the_others(api: Api) -> None:
    vol = volume(api)
    a, b = export(api, vol.id), export(api, vol.id, HOST_B)
    api.exports.Unexport(exports_pb2.UnexportRequest(object_id=vol.id, connector=connector()))
    lio, iqn = targets(api), a["data"]["target_iqn"]
    assert not lio.login(iqn, HOST_A, a["data"]["auth_username"], a["data"]["auth_password"])
    assert lio.login(iqn, HOST_B, b["data"]["auth_username"], b["data"]["auth_password"])
    again = exports_pb2.UnexportRequest(object_id=vol.id, connector=connector())
    assert code_of(api.exports.Unexport, again) == grpc.StatusCode.NOT_FOUND


def test_an_exported_volume_is_not_deleted(api: Api) -> None:
    vol = volume(api)
    export(api, vol.id)
    delete = volumes_pb2.DeleteVolumeRequest(volume_id=vol.id)
    assert code_of(api.volumes.DeleteVolume, delete) == grpc.StatusCode.FAILED_PRECONDITION
    api.exports.Unexport(exports_pb2.UnexportRequest(object_id=vol.id))
    api.volumes.DeleteVolume(delete)


def test_a_snapshot_export_is_read_only_and_blocks_its_delete(api: Api) -> None:
    vol = volume(api)
    snap = api.snapshots.CreateSnapshot(
        snapshots_pb2.CreateSnapshotRequest(volume_id=vol.id, name="s1")
    )
    reply = api.exports.ExportSnapshot(
        exports_pb2.ExportSnapshotRequest(snapshot_id=snap.id, connector=connector())
    )
    data = json.loads(reply.connection_info_json)["data"]
    assert data["access_mode"] == "ro" and data["volume_id"] == snap.id
    held = targets(api).targets[data["target_iqn"]]
    assert held.spec.read_only and held.spec.device.endswith(snap.id)
    delete = snapshots_pb2.DeleteSnapshotRequest(snapshot_id=snap.id)
    assert code_of(api.snapshots.DeleteSnapshot, delete) == grpc.StatusCode.FAILED_PRECONDITION
    api.exports.Unexport(exports_pb2.UnexportRequest(object_id=snap.id))
    api.snapshots.DeleteSnapshot(delete)


def test_group_with_an_exported_member_and_group_snapshot_with_one_are_not_deleted(
    api: Api,
) -> None:
    group = group_with_volumes(api, count=2)
    gsnap = group_snapshot(api, group.id)
    member = api.snapshots.ListSnapshots(
        snapshots_pb2.ListSnapshotsRequest(group_snapshot_id=gsnap.id)
    ).snapshots[0]
    api.exports.ExportSnapshot(
        exports_pb2.ExportSnapshotRequest(snapshot_id=member.id, connector=connector())
    )
    export(api, group.volume_ids[0])
    delete_gs = group_snapshots_pb2.DeleteGroupSnapshotRequest(group_snapshot_id=gsnap.id)
    assert code_of(api.group_snapshots.DeleteGroupSnapshot, delete_gs) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    api.exports.Unexport(exports_pb2.UnexportRequest(object_id=member.id))
    api.group_snapshots.DeleteGroupSnapshot(delete_gs)
    delete_g = groups_pb2.DeleteGroupRequest(group_id=group.id, delete_volumes=True)
    assert code_of(api.groups.DeleteGroup, delete_g) == grpc.StatusCode.FAILED_PRECONDITION


def test_extend_of_an_exported_volume_keeps_it_in_use(api: Api) -> None:
    vol = volume(api)
    export(api, vol.id)
    grown = api.volumes.ExtendVolume(
        volumes_pb2.ExtendVolumeRequest(volume_id=vol.id, new_size_bytes=128 * MIB)
    )
    assert grown.size_bytes == 128 * MIB
    assert status(api, vol.id) == common_pb2.VOLUME_STATUS_IN_USE


@pytest.mark.parametrize(
    "initiator",
    [
        "",
        "host-a",
        "IQN.1994-05.com.example:a",
        "iqn.1994-13.com.example",
        "iqn.1994-05.",
        "x" * 300,
    ],
)
def test_a_malformed_initiator_is_invalid_and_changes_nothing(api: Api, initiator: str) -> None:
    vol = volume(api)
    request = exports_pb2.ExportVolumeRequest(volume_id=vol.id, connector=connector(initiator))
    assert code_of(api.exports.ExportVolume, request) == grpc.StatusCode.INVALID_ARGUMENT
    assert status(api, vol.id) == common_pb2.VOLUME_STATUS_AVAILABLE
    assert targets(api).present() == []


def test_bad_requests_get_clear_codes(api: Api) -> None:
    vol = volume(api)
    no_connector = exports_pb2.ExportVolumeRequest(volume_id=vol.id)
    assert code_of(api.exports.ExportVolume, no_connector) == grpc.StatusCode.INVALID_ARGUMENT
    missing = exports_pb2.ExportVolumeRequest(
        volume_id="00000000-0000-4000-8000-000000000000", connector=connector()
    )
    assert code_of(api.exports.ExportVolume, missing) == grpc.StatusCode.NOT_FOUND
    bad_id = exports_pb2.ExportSnapshotRequest(snapshot_id="nope", connector=connector())
    assert code_of(api.exports.ExportSnapshot, bad_id) == grpc.StatusCode.INVALID_ARGUMENT
    api.manager.set_volume_status(api.manager.get_volume(vol.id), status=VolumeStatus.ERROR)
    broken = exports_pb2.ExportVolumeRequest(volume_id=vol.id, connector=connector())
    assert code_of(api.exports.ExportVolume, broken) == grpc.StatusCode.FAILED_PRECONDITION
    assert targets(api).present() == []


def test_a_failed_publish_leaves_nothing_behind(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    vol = volume(api)
    export(api, vol.id)
    lio = targets(api)
    before = dict(lio.targets)

    def refuse(spec: object) -> None:
        raise OSError("configfs said no")

    monkeypatch.setattr(lio, "publish", refuse)
    request = exports_pb2.ExportVolumeRequest(volume_id=vol.id, connector=connector(HOST_B))
    assert code_of(api.exports.ExportVolume, request) == grpc.StatusCode.ABORTED
    listed = api.exports.ListExports(exports_pb2.ListExportsRequest()).exports
    assert [a.initiator for e in listed for a in e.accesses] == [HOST_A]
    assert lio.targets == before


def test_restore_recreates_missing_targets_identically_and_disables_unknown_ones(
    api: Api,
) -> None:
    vol = volume(api)
    info = export(api, vol.id)
    lio = targets(api)
    held = lio.targets[info["data"]["target_iqn"]]
    lio.withdraw(held.spec.iqn)  # an operator's `targetcli` delete while cohortd was down
    stray = f"{lio.prefix}volume-00000000-0000-4000-8000-000000000000"
    lio.publish(held.spec.__class__(stray, "/dev/other", "serial-x", False, ()))
    done = api.manager.restore_exports()
    assert done.published == [held.spec.iqn] and done.disabled == [stray]
    assert lio.targets[held.spec.iqn].spec == held.spec  # same serial, same credentials
    assert stray in lio.targets and not lio.targets[stray].enabled


def test_multiattach_is_reported_as_a_capability(api: Api) -> None:
    reply = api.capabilities.GetCapabilities(capabilities_pb2.GetCapabilitiesRequest())
    assert [pool.multiattach for pool in reply.pools] == [True]


def test_a_secret_sealed_with_another_key_is_a_clear_failure(api: Api) -> None:
    vol = volume(api)
    export(api, vol.id)
    plane = api.manager.exports
    api.manager.exports = replace(plane, sealer=Sealer(bytes(32)))
    request = exports_pb2.ExportVolumeRequest(volume_id=vol.id, connector=connector())
    assert code_of(api.exports.ExportVolume, request) == grpc.StatusCode.ABORTED
    api.manager.exports = plane
    assert export(api, vol.id)["data"]["auth_username"]


def test_a_failed_snapshot_export_releases_the_snapshots_device(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    vol = volume(api)
    snap = api.snapshots.CreateSnapshot(
        snapshots_pb2.CreateSnapshotRequest(volume_id=vol.id, name="s1")
    )
    released: list[str] = []
    monkeypatch.setattr(api.sim, "release_snapshot_device", lambda s: released.append(s.id))

    def refuse(spec: object) -> None:
        raise OSError("configfs said no")

    monkeypatch.setattr(targets(api), "publish", refuse)
    request = exports_pb2.ExportSnapshotRequest(snapshot_id=snap.id, connector=connector())
    assert code_of(api.exports.ExportSnapshot, request) == grpc.StatusCode.ABORTED
    assert released == [snap.id]
    assert not api.exports.ListExports(exports_pb2.ListExportsRequest()).exports
