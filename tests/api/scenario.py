"""Building blocks for API tests: types, a consistent group with volumes, data in them."""

from __future__ import annotations

import grpc
import pytest

from cohort.v1 import (
    common_pb2,
    group_snapshots_pb2,
    groups_pb2,
    types_pb2,
    volumes_pb2,
)
from tests.api.conftest import Api

MIB = 1024**2
CONSISTENT = {"consistent_group_snapshot_enabled": "<is> True"}


def code_of(call: object, request: object) -> grpc.StatusCode:
    """The status code `call(request)` fails with (the test fails if it does not fail)."""
    with pytest.raises(grpc.RpcError) as info:
        call(request)  # type: ignore[operator]
    return info.value.code()


def types(api: Api) -> None:
    api.types.CreateVolumeType(
        types_pb2.CreateVolumeTypeRequest(name="fast", extra_specs=CONSISTENT)
    )
    api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="plain"))
    api.types.CreateGroupType(
        types_pb2.CreateGroupTypeRequest(name="consistent", group_specs=CONSISTENT)
    )
    api.types.CreateGroupType(types_pb2.CreateGroupTypeRequest(name="generic"))


def group_with_volumes(api: Api, name: str = "g1", count: int = 3) -> groups_pb2.Group:
    types(api)
    group = api.groups.CreateGroup(
        groups_pb2.CreateGroupRequest(name=name, group_type="consistent", volume_types=["fast"])
    )
    for i in range(count):
        vol = api.volumes.CreateVolume(
            volumes_pb2.CreateVolumeRequest(
                name=f"{name}-v{i}", size_bytes=64 * MIB, volume_type="fast", group_id=group.id
            )
        )
        api.sim.write(vol.id, 0, f"data of {vol.name}".encode())
    return api.groups.GetGroup(groups_pb2.GetGroupRequest(group_id=group.id))


def group_snapshot(api: Api, group_id: str, name: str = "gs1") -> group_snapshots_pb2.GroupSnapshot:
    return api.group_snapshots.CreateGroupSnapshot(
        group_snapshots_pb2.CreateGroupSnapshotRequest(group_id=group_id, name=name)
    )


def volume_statuses(api: Api, volume_ids: list[str]) -> list[int]:
    return [
        api.volumes.GetVolume(volumes_pb2.GetVolumeRequest(volume_id=v)).status for v in volume_ids
    ]


VS = common_pb2
