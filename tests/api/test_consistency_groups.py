"""The legacy CG API on groups of the reserved type (seed 003's migration rules)."""

from __future__ import annotations

import grpc

from cohort.v1 import common_pb2 as c
from cohort.v1 import consistency_groups_pb2 as cg_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.api import scenario
from tests.api.conftest import Api
from tests.api.scenario import code_of

CODE = grpc.StatusCode


def make_cg(api: Api, name: str = "cg1") -> cg_pb.ConsistencyGroup:
    cg = api.cgs.CreateConsistencyGroup(
        cg_pb.CreateConsistencyGroupRequest(name=name, volume_types=["plain", "fast"])
    )
    for i in range(2):
        vol = api.volumes.CreateVolume(
            v_pb.CreateVolumeRequest(
                name=f"{name}-v{i}",
                size_bytes=8 * scenario.MIB,
                volume_type="plain",
                group_id=cg.id,
            )
        )
        api.sim.write(vol.id, 0, vol.name.encode())
    return api.cgs.GetConsistencyGroup(cg_pb.GetConsistencyGroupRequest(consistencygroup_id=name))


def test_cg_lifecycle_with_the_seeds_verbs(api: Api) -> None:
    scenario.types(api)
    cg = make_cg(api)
    assert cg.status == c.GROUP_STATUS_AVAILABLE and len(cg.volume_ids) == 2
    cgsnap = api.cgs.CreateCgsnapshot(
        cg_pb.CreateCgsnapshotRequest(consistencygroup_id="cg1", name="snap1")
    )
    assert cgsnap.status == c.SNAPSHOT_STATUS_AVAILABLE and len(cgsnap.snapshot_ids) == 2
    assert api.cgs.GetCgsnapshot(cg_pb.GetCgsnapshotRequest(cgsnapshot_id="snap1")).id == cgsnap.id
    from_snap = api.cgs.CreateConsistencyGroupFromSource(
        cg_pb.CreateConsistencyGroupFromSourceRequest(name="fromsnap", cgsnapshot_id="snap1")
    )
    assert from_snap.cgsnapshot_id == cgsnap.id
    clone = api.cgs.CreateConsistencyGroupFromSource(
        cg_pb.CreateConsistencyGroupFromSourceRequest(name="clone", consistencygroup_id="cg1")
    )
    assert clone.source_cgid == cg.id and len(clone.volume_ids) == 2
    for new_id, old_id in zip(clone.volume_ids, cg.volume_ids, strict=True):
        assert api.sim.read(new_id, 0, 16) == api.sim.read(old_id, 0, 16)
    listed = api.cgs.ListConsistencyGroups(cg_pb.ListConsistencyGroupsRequest()).consistencygroups
    assert {g.name for g in listed} == {"cg1", "fromsnap", "clone"}
    assert len(api.cgs.ListCgsnapshots(cg_pb.ListCgsnapshotsRequest()).cgsnapshots) == 1
    updated = api.cgs.UpdateConsistencyGroup(
        cg_pb.UpdateConsistencyGroupRequest(
            consistencygroup_id="clone", remove_volume_ids=[clone.volume_ids[0]], description="d"
        )
    )
    assert len(updated.volume_ids) == 1 and updated.description == "d"
    api.cgs.DeleteCgsnapshot(cg_pb.DeleteCgsnapshotRequest(cgsnapshot_id="snap1"))
    for name in ("cg1", "fromsnap", "clone"):
        api.cgs.DeleteConsistencyGroup(
            cg_pb.DeleteConsistencyGroupRequest(consistencygroup_id=name, delete_volumes=True)
        )
    assert not api.cgs.ListConsistencyGroups(cg_pb.ListConsistencyGroupsRequest()).consistencygroups


def test_groups_and_cgs_do_not_see_each_other(api: Api) -> None:
    group = scenario.group_with_volumes(api, count=1)
    scenario.group_snapshot(api, group.id)
    cg = make_cg(api)
    cgsnap = api.cgs.CreateCgsnapshot(
        cg_pb.CreateCgsnapshotRequest(consistencygroup_id=cg.id, name="cs")
    )
    assert [g.name for g in api.groups.ListGroups(g_pb.ListGroupsRequest()).groups] == ["g1"]
    assert code_of(api.groups.GetGroup, g_pb.GetGroupRequest(group_id=cg.id)) is CODE.NOT_FOUND
    assert (
        code_of(api.groups.DeleteGroup, g_pb.DeleteGroupRequest(group_id=cg.id)) is CODE.NOT_FOUND
    )
    assert (
        code_of(
            api.group_snapshots.CreateGroupSnapshot,
            gs_pb.CreateGroupSnapshotRequest(group_id=cg.id, name="x"),
        )
        is CODE.NOT_FOUND
    )
    assert (
        code_of(
            api.group_snapshots.GetGroupSnapshot,
            gs_pb.GetGroupSnapshotRequest(group_snapshot_id=cgsnap.id),
        )
        is CODE.NOT_FOUND
    )
    listed = api.group_snapshots.ListGroupSnapshots(
        gs_pb.ListGroupSnapshotsRequest()
    ).group_snapshots
    assert [s.name for s in listed] == ["gs1"]
    assert (
        code_of(
            api.cgs.GetConsistencyGroup,
            cg_pb.GetConsistencyGroupRequest(consistencygroup_id=group.id),
        )
        is CODE.NOT_FOUND
    )
    # volumes can be created into either (seed 003: "Create Volume adds the volume either to
    # the CG or the group")
    listed_cgs = api.cgs.ListConsistencyGroups(
        cg_pb.ListConsistencyGroupsRequest()
    ).consistencygroups
    assert [g.name for g in listed_cgs] == ["cg1"]


def test_the_reserved_type_is_untouchable(api: Api) -> None:
    scenario.types(api)
    reserved = api.types.GetGroupType(
        t_pb.GetGroupTypeRequest(group_type="default_cgsnapshot_type")
    )
    assert reserved.reserved
    assert (
        code_of(
            api.types.DeleteGroupType,
            t_pb.DeleteGroupTypeRequest(group_type="default_cgsnapshot_type"),
        )
        is CODE.FAILED_PRECONDITION
    )
    assert (
        code_of(
            api.types.CreateGroupType, t_pb.CreateGroupTypeRequest(name="default_cgsnapshot_type")
        )
        is CODE.ALREADY_EXISTS
    )
    assert (
        code_of(
            api.groups.CreateGroup,
            g_pb.CreateGroupRequest(
                name="sneaky", group_type="default_cgsnapshot_type", volume_types=["fast"]
            ),
        )
        is CODE.INVALID_ARGUMENT
    )


def test_cg_needs_consistencygroup_support(api: Api) -> None:
    scenario.types(api)
    api.sim.consistent_group_snapshot = False
    api.manager.refresh_pool()  # a backend's capabilities change only at restart
    assert (
        code_of(
            api.cgs.CreateConsistencyGroup,
            cg_pb.CreateConsistencyGroupRequest(name="cg", volume_types=["plain"]),
        )
        is CODE.FAILED_PRECONDITION
    )


def test_cgs_keep_accepting_volume_types_without_the_consistent_spec(api: Api) -> None:
    """The facade keeps its rule: a CG takes the volume types it lists, whatever their specs
    (only generic consistent groups require the spec of every volume type)."""
    scenario.types(api)
    cg = make_cg(api)  # its volumes are of type "plain", created into the CG
    loose = api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(name="loose", size_bytes=8 * scenario.MIB, volume_type="plain")
    )
    updated = api.cgs.UpdateConsistencyGroup(
        cg_pb.UpdateConsistencyGroupRequest(consistencygroup_id=cg.id, add_volume_ids=[loose.id])
    )
    assert len(updated.volume_ids) == 3 and loose.id in updated.volume_ids
