"""Every cell of the seeds' status table, driven over gRPC through the sim's fault plan.

| method | raises | model error | member error | no member updates | success |
"""

from __future__ import annotations

import grpc
import pytest

from cohort.v1 import (
    common_pb2 as c,
)
from cohort.v1 import (
    group_snapshots_pb2 as gs_pb,
)
from cohort.v1 import (
    groups_pb2 as g_pb,
)
from cohort.v1 import (
    snapshots_pb2 as s_pb,
)
from cohort.v1 import (
    volumes_pb2 as v_pb,
)
from tests.api import scenario
from tests.api.conftest import Api

V_ERROR = c.VOLUME_STATUS_ERROR
V_AVAILABLE = c.VOLUME_STATUS_AVAILABLE


def aborted(call: object, *args: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args)  # type: ignore[operator]
    assert info.value.code() is grpc.StatusCode.ABORTED, info.value.details()
    return info.value


def get_group(api: Api, group_id: str) -> g_pb.Group:
    return api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group_id))


def get_gs(api: Api, gs_id: str) -> gs_pb.GroupSnapshot:
    return api.group_snapshots.GetGroupSnapshot(
        gs_pb.GetGroupSnapshotRequest(group_snapshot_id=gs_id)
    )


def snapshot_statuses(api: Api, ids: list[str]) -> list[int]:
    return [api.snapshots.GetSnapshot(s_pb.GetSnapshotRequest(snapshot_id=i)).status for i in ids]


def gone(call: object, request: object) -> bool:
    try:
        call(request)  # type: ignore[operator]
    except grpc.RpcError as exc:
        return exc.code() is grpc.StatusCode.NOT_FOUND
    return False


# -- create_group ---------------------------------------------------------------------------
CREATE_GROUP = g_pb.CreateGroupRequest(name="g9", group_type="generic", volume_types=["plain"])


@pytest.mark.parametrize(
    "faults", [{"raise": True}, {"model_status": "error"}], ids=["raises", "model-error"]
)
def test_create_group_failure_leaves_group_in_error(api: Api, faults: dict[str, object]) -> None:
    scenario.types(api)
    api.faults(create_group=faults)
    err = aborted(api.groups.CreateGroup, CREATE_GROUP)
    assert "g9" in err.details()
    (group,) = api.groups.ListGroups(g_pb.ListGroupsRequest()).groups
    assert group.name == "g9" and group.status == c.GROUP_STATUS_ERROR
    api.faults()
    api.groups.DeleteGroup(g_pb.DeleteGroupRequest(group_id=group.id))


@pytest.mark.parametrize("faults", [{}, {"model_update": False}], ids=["model", "none"])
def test_create_group_success(api: Api, faults: dict[str, object]) -> None:
    scenario.types(api)
    api.faults(create_group=faults)
    assert api.groups.CreateGroup(CREATE_GROUP).status == c.GROUP_STATUS_AVAILABLE


# -- update_group ---------------------------------------------------------------------------
def _update_setup(api: Api) -> tuple[g_pb.Group, str, str]:
    group = scenario.group_with_volumes(api, count=2)
    loose = api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(name="loose", size_bytes=scenario.MIB * 8, volume_type="fast")
    )
    return group, loose.id, group.volume_ids[0]


def _update(api: Api, group: g_pb.Group, add: str, remove: str) -> g_pb.Group:
    return api.groups.UpdateGroup(
        g_pb.UpdateGroupRequest(group_id=group.id, add_volume_ids=[add], remove_volume_ids=[remove])
    )


@pytest.mark.parametrize(
    "faults", [{"raise": True}, {"model_status": "error"}], ids=["raises", "model-error"]
)
def test_update_group_failure(api: Api, faults: dict[str, object]) -> None:
    group, add, remove = _update_setup(api)
    api.faults(update_group=faults)
    aborted(_update, api, group, add, remove)
    assert get_group(api, group.id).status == c.GROUP_STATUS_ERROR
    assert scenario.volume_statuses(api, [add, remove]) == [V_ERROR, V_ERROR]
    assert set(get_group(api, group.id).volume_ids) == set(group.volume_ids)


def test_update_group_member_error_is_applied_as_returned(api: Api) -> None:
    group, add, remove = _update_setup(api)
    api.faults(update_group={"member_status": "error"})
    updated = _update(api, group, add, remove)
    assert updated.status == c.GROUP_STATUS_AVAILABLE
    # the sim marks the first entry of each returned list (added and removed) in error
    assert scenario.volume_statuses(api, [add, remove]) == [V_ERROR, V_ERROR]
    assert add in updated.volume_ids and remove not in updated.volume_ids


@pytest.mark.parametrize("faults", [{"member_updates": False}, {}], ids=["no-updates", "success"])
def test_update_group_members_keep_status(api: Api, faults: dict[str, object]) -> None:
    group, add, remove = _update_setup(api)
    api.faults(update_group=faults)
    updated = _update(api, group, add, remove)
    assert updated.status == c.GROUP_STATUS_AVAILABLE
    assert scenario.volume_statuses(api, [add, remove]) == [V_AVAILABLE, V_AVAILABLE]
    assert add in updated.volume_ids and remove not in updated.volume_ids


# -- create_group_from_src ------------------------------------------------------------------
def _from_src(api: Api, source: str, group: g_pb.Group, gs_id: str) -> g_pb.Group:
    request = g_pb.CreateGroupFromSourceRequest(name="copy")
    if source == "group":
        request.source_group_id = group.id
    else:
        request.group_snapshot_id = gs_id
    return api.groups.CreateGroupFromSource(request)


@pytest.fixture(params=["group", "group_snapshot"])
def source(request: pytest.FixtureRequest, api: Api) -> tuple[str, g_pb.Group, str]:
    group = scenario.group_with_volumes(api)
    gs = scenario.group_snapshot(api, group.id)
    return request.param, group, gs.id


@pytest.mark.parametrize("faults", [{"raise": True}, {"fail_member": 2}], ids=["raises", "member"])
def test_create_from_src_raises(
    api: Api, source: tuple[str, g_pb.Group, str], faults: dict[str, object]
) -> None:
    before = api.sim.volume_ids()
    api.faults(create_group_from_src=faults)
    aborted(_from_src, api, *source)
    (copy,) = [
        g for g in api.groups.ListGroups(g_pb.ListGroupsRequest()).groups if g.name == "copy"
    ]
    assert copy.status == c.GROUP_STATUS_ERROR
    assert len(copy.volume_ids) == 3
    assert scenario.volume_statuses(api, list(copy.volume_ids)) == [V_ERROR] * 3
    assert api.sim.volume_ids() == before  # all or nothing: the members made were removed
    api.faults()
    api.groups.DeleteGroup(g_pb.DeleteGroupRequest(group_id=copy.id, delete_volumes=True))


@pytest.mark.parametrize(
    "faults", [{"model_status": "error"}, {}, {"model_update": False, "member_updates": False}]
)
def test_create_from_src_no_exception_is_success(
    api: Api, source: tuple[str, g_pb.Group, str], faults: dict[str, object]
) -> None:
    api.faults(create_group_from_src=faults)
    copy = _from_src(api, *source)
    assert copy.status == c.GROUP_STATUS_AVAILABLE
    assert scenario.volume_statuses(api, list(copy.volume_ids)) == [V_AVAILABLE] * 3
    kind, group, _ = source
    for new_id, old_id in zip(copy.volume_ids, group.volume_ids, strict=True):
        assert api.sim.read(new_id, 0, 64) == api.sim.read(old_id, 0, 64)
    assert (copy.source_group_id == group.id) == (kind == "group")
    assert bool(copy.group_snapshot_id) == (kind == "group_snapshot")


def test_create_from_src_member_error_as_returned(
    api: Api, source: tuple[str, g_pb.Group, str]
) -> None:
    api.faults(create_group_from_src={"member_status": "error"})
    copy = _from_src(api, *source)
    assert copy.status == c.GROUP_STATUS_AVAILABLE
    statuses = scenario.volume_statuses(api, list(copy.volume_ids))
    assert statuses == [V_ERROR, V_AVAILABLE, V_AVAILABLE]


# -- create_group_snapshot ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("faults", "gs_status"),
    [
        ({"raise": True}, c.SNAPSHOT_STATUS_ERROR),
        ({"model_status": "error"}, c.SNAPSHOT_STATUS_ERROR),
        ({"member_status": "error"}, c.SNAPSHOT_STATUS_ERROR),
        ({"member_updates": False}, c.SNAPSHOT_STATUS_ERROR),
        ({"fail_member": 2}, c.SNAPSHOT_STATUS_ERROR),
    ],
    ids=["raises", "model-error", "member-error", "no-updates", "member-fails"],
)
def test_create_group_snapshot_failure(api: Api, faults: dict[str, object], gs_status: int) -> None:
    group = scenario.group_with_volumes(api)
    api.faults(create_group_snapshot=faults)
    err = aborted(scenario.group_snapshot, api, group.id)
    assert "gs1" in err.details()
    (gs,) = api.group_snapshots.ListGroupSnapshots(
        gs_pb.ListGroupSnapshotsRequest()
    ).group_snapshots
    assert gs.status == gs_status
    assert snapshot_statuses(api, list(gs.snapshot_ids)) == [c.SNAPSHOT_STATUS_ERROR] * 3
    assert api.sim.snapshot_ids() == set()  # all or nothing
    api.faults()
    api.group_snapshots.DeleteGroupSnapshot(
        gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id)
    )
    assert gone(
        api.group_snapshots.GetGroupSnapshot, gs_pb.GetGroupSnapshotRequest(group_snapshot_id=gs.id)
    )


@pytest.mark.parametrize("faults", [{}, {"model_update": False, "member_updates": False}])
def test_create_group_snapshot_success(api: Api, faults: dict[str, object]) -> None:
    group = scenario.group_with_volumes(api)
    api.faults(create_group_snapshot=faults)
    gs = scenario.group_snapshot(api, group.id)
    assert gs.status == c.SNAPSHOT_STATUS_AVAILABLE
    assert snapshot_statuses(api, list(gs.snapshot_ids)) == [c.SNAPSHOT_STATUS_AVAILABLE] * 3
    assert api.sim.snapshot_ids() == set(gs.snapshot_ids)


# -- delete_group ---------------------------------------------------------------------------
def _delete_group(api: Api, group_id: str) -> None:
    api.groups.DeleteGroup(g_pb.DeleteGroupRequest(group_id=group_id, delete_volumes=True))


@pytest.mark.parametrize(
    ("faults", "group_status", "volume_statuses"),
    [
        ({"raise": True}, c.GROUP_STATUS_ERROR, [V_ERROR] * 3),
        ({"model_status": "error"}, c.GROUP_STATUS_ERROR, None),
        ({"model_status": "error_deleting"}, c.GROUP_STATUS_ERROR, None),
        (
            {"member_status": "error_deleting"},
            c.GROUP_STATUS_ERROR_DELETING,
            [c.VOLUME_STATUS_ERROR_DELETING],
        ),
        ({"member_status": "error"}, c.GROUP_STATUS_ERROR, [V_ERROR]),
        ({"member_updates": False}, c.GROUP_STATUS_ERROR, [V_ERROR] * 3),
    ],
    ids=[
        "raises",
        "model-error",
        "model-error_deleting",
        "member-error_deleting",
        "member-error",
        "no-updates",
    ],
)
def test_delete_group_failure(
    api: Api, faults: dict[str, object], group_status: int, volume_statuses: list[int] | None
) -> None:
    group = scenario.group_with_volumes(api)
    api.faults(delete_group=faults)
    err = aborted(_delete_group, api, group.id)
    assert "g1" in err.details()
    after = get_group(api, group.id)
    assert after.status == group_status
    if volume_statuses is not None:
        remaining = scenario.volume_statuses(api, list(after.volume_ids))
        assert remaining == volume_statuses
    api.faults()
    _delete_group(api, group.id)  # an errored group stays deletable
    assert gone(api.groups.GetGroup, g_pb.GetGroupRequest(group_id=group.id))


@pytest.mark.parametrize("faults", [{}, {"model_update": False, "member_updates": False}])
def test_delete_group_success(api: Api, faults: dict[str, object]) -> None:
    group = scenario.group_with_volumes(api)
    api.faults(delete_group=faults)
    _delete_group(api, group.id)
    assert gone(api.groups.GetGroup, g_pb.GetGroupRequest(group_id=group.id))
    for vid in group.volume_ids:
        assert gone(api.volumes.GetVolume, v_pb.GetVolumeRequest(volume_id=vid))
    assert api.sim.volume_ids() == set()


# -- delete_group_snapshot ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("faults", "gs_status", "snap_statuses"),
    [
        ({"raise": True}, c.SNAPSHOT_STATUS_ERROR, [c.SNAPSHOT_STATUS_ERROR] * 3),
        ({"model_status": "error"}, c.SNAPSHOT_STATUS_ERROR, None),
        (
            {"member_status": "error_deleting"},
            c.SNAPSHOT_STATUS_ERROR_DELETING,
            [c.SNAPSHOT_STATUS_ERROR_DELETING],
        ),
        ({"member_updates": False}, c.SNAPSHOT_STATUS_ERROR, [c.SNAPSHOT_STATUS_ERROR] * 3),
    ],
    ids=["raises", "model-error", "member-error_deleting", "no-updates"],
)
def test_delete_group_snapshot_failure(
    api: Api, faults: dict[str, object], gs_status: int, snap_statuses: list[int] | None
) -> None:
    group = scenario.group_with_volumes(api)
    gs = scenario.group_snapshot(api, group.id)
    api.faults(delete_group_snapshot=faults)
    aborted(
        api.group_snapshots.DeleteGroupSnapshot,
        gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id),
    )
    after = get_gs(api, gs.id)
    assert after.status == gs_status
    if snap_statuses is not None:
        assert snapshot_statuses(api, list(after.snapshot_ids)) == snap_statuses
    api.faults()
    api.group_snapshots.DeleteGroupSnapshot(
        gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id)
    )
    assert gone(
        api.group_snapshots.GetGroupSnapshot, gs_pb.GetGroupSnapshotRequest(group_snapshot_id=gs.id)
    )


@pytest.mark.parametrize("faults", [{}, {"model_update": False, "member_updates": False}])
def test_delete_group_snapshot_success(api: Api, faults: dict[str, object]) -> None:
    group = scenario.group_with_volumes(api)
    gs = scenario.group_snapshot(api, group.id)
    api.faults(delete_group_snapshot=faults)
    api.group_snapshots.DeleteGroupSnapshot(
        gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id)
    )
    for sid in gs.snapshot_ids:
        assert gone(api.snapshots.GetSnapshot, s_pb.GetSnapshotRequest(snapshot_id=sid))
    assert api.sim.snapshot_ids() == set()
