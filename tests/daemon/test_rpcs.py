"""Every RPC of every cohort.v1 service over the unix socket, through the real manager."""

from __future__ import annotations

import grpc

from cohort.daemon import metrics
from cohort.v1 import (
    capabilities_pb2,
    common_pb2,
    consistency_groups_pb2,
    group_snapshots_pb2,
    groups_pb2,
    snapshots_pb2,
    types_pb2,
    volumes_pb2,
)

from .conftest import GIB, Stubs

CONSISTENT = {"consistent_group_snapshot_enabled": "<is> True"}


def test_types(api: Stubs) -> None:
    vt = api.types.CreateVolumeType(
        types_pb2.CreateVolumeTypeRequest(name="gold", description="d", extra_specs={"a": "b"})
    )
    assert (vt.name, vt.description, dict(vt.extra_specs)) == ("gold", "d", {"a": "b"})
    assert vt.created_at.seconds > 0
    assert api.types.GetVolumeType(types_pb2.GetVolumeTypeRequest(volume_type="gold")).id == vt.id
    listed = api.types.ListVolumeTypes(types_pb2.ListVolumeTypesRequest())
    assert [t.id for t in listed.volume_types] == [vt.id]
    assert listed.next_page_token == ""
    api.types.DeleteVolumeType(types_pb2.DeleteVolumeTypeRequest(volume_type=vt.id))
    assert not api.types.ListVolumeTypes(types_pb2.ListVolumeTypesRequest()).volume_types

    gt = api.types.CreateGroupType(
        types_pb2.CreateGroupTypeRequest(name="g", group_specs=CONSISTENT)
    )
    assert dict(gt.group_specs) == CONSISTENT and not gt.reserved
    assert api.types.GetGroupType(types_pb2.GetGroupTypeRequest(group_type="g")).id == gt.id
    names = {
        t.name for t in api.types.ListGroupTypes(types_pb2.ListGroupTypesRequest()).group_types
    }
    assert "g" in names
    api.types.DeleteGroupType(types_pb2.DeleteGroupTypeRequest(group_type="g"))


def test_pagination_tokens_pass_through(api: Stubs) -> None:
    for i in range(3):
        api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name=f"t{i}"))
    first = api.types.ListVolumeTypes(types_pb2.ListVolumeTypesRequest(page_size=2))
    assert len(first.volume_types) == 2 and first.next_page_token
    rest = api.types.ListVolumeTypes(
        types_pb2.ListVolumeTypesRequest(page_size=2, page_token=first.next_page_token)
    )
    assert [t.name for t in rest.volume_types] == ["t2"] and rest.next_page_token == ""


def test_volumes_and_snapshots(api: Stubs) -> None:
    api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="default"))
    vol = api.volumes.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name="v1", size_bytes=GIB, description="first")
    )
    assert vol.status == common_pb2.VOLUME_STATUS_AVAILABLE
    assert vol.size_bytes >= GIB and vol.device_path and vol.description == "first"
    assert vol.group_id == "" and vol.source_snapshot_id == ""
    assert api.volumes.GetVolume(volumes_pb2.GetVolumeRequest(volume_id=vol.id)) == vol

    extended = api.volumes.ExtendVolume(
        volumes_pb2.ExtendVolumeRequest(volume_id=vol.id, new_size_bytes=2 * GIB)
    )
    assert extended.size_bytes >= 2 * GIB

    snap = api.snapshots.CreateSnapshot(
        snapshots_pb2.CreateSnapshotRequest(volume_id=vol.id, name="s1")
    )
    assert snap.status == common_pb2.SNAPSHOT_STATUS_AVAILABLE and snap.volume_id == vol.id
    assert api.snapshots.GetSnapshot(snapshots_pb2.GetSnapshotRequest(snapshot_id=snap.id)) == snap
    by_volume = api.snapshots.ListSnapshots(snapshots_pb2.ListSnapshotsRequest(volume_id=vol.id))
    assert [s.id for s in by_volume.snapshots] == [snap.id]

    clone = api.volumes.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name="v2", size_bytes=2 * GIB, snapshot_id=snap.id)
    )
    assert clone.source_snapshot_id == snap.id
    copy = api.volumes.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name="v3", size_bytes=2 * GIB, volume_id=vol.id)
    )
    assert copy.source_volume_id == vol.id

    # UNSPECIFIED status means any; a status filters.
    every = api.volumes.ListVolumes(volumes_pb2.ListVolumesRequest())
    assert {v.name for v in every.volumes} == {"v1", "v2", "v3"}
    available = api.volumes.ListVolumes(
        volumes_pb2.ListVolumesRequest(status=common_pb2.VOLUME_STATUS_AVAILABLE)
    )
    assert len(available.volumes) == 3
    errored = api.volumes.ListVolumes(
        volumes_pb2.ListVolumesRequest(status=common_pb2.VOLUME_STATUS_ERROR)
    )
    assert not errored.volumes

    for v in (clone, copy):
        api.volumes.DeleteVolume(volumes_pb2.DeleteVolumeRequest(volume_id=v.id))
    api.snapshots.DeleteSnapshot(snapshots_pb2.DeleteSnapshotRequest(snapshot_id=snap.id))
    api.volumes.DeleteVolume(volumes_pb2.DeleteVolumeRequest(volume_id=vol.id))
    assert not api.volumes.ListVolumes(volumes_pb2.ListVolumesRequest()).volumes


def test_groups_and_group_snapshots(api: Stubs) -> None:
    api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="vt", extra_specs=CONSISTENT))
    api.types.CreateGroupType(types_pb2.CreateGroupTypeRequest(name="gt", group_specs=CONSISTENT))
    group = api.groups.CreateGroup(
        groups_pb2.CreateGroupRequest(name="g1", group_type="gt", volume_types=["vt"])
    )
    assert group.status == common_pb2.GROUP_STATUS_AVAILABLE
    assert group.consistent_group_snapshot_enabled and not group.volume_ids
    vol = api.volumes.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name="m1", size_bytes=GIB, volume_type="vt", group_id="g1")
    )
    assert vol.group_id == group.id
    got = api.groups.GetGroup(groups_pb2.GetGroupRequest(group_id="g1"))
    assert list(got.volume_ids) == [vol.id]

    updated = api.groups.UpdateGroup(groups_pb2.UpdateGroupRequest(group_id=group.id, name="g1b"))
    assert updated.name == "g1b" and updated.description == group.description
    cleared = api.groups.UpdateGroup(groups_pb2.UpdateGroupRequest(group_id="g1b", description=""))
    assert cleared.name == "g1b"

    gs = api.group_snapshots.CreateGroupSnapshot(
        group_snapshots_pb2.CreateGroupSnapshotRequest(group_id="g1b", name="gs1")
    )
    assert gs.status == common_pb2.SNAPSHOT_STATUS_AVAILABLE and len(gs.snapshot_ids) == 1
    assert gs.group_id == group.id
    get = api.group_snapshots.GetGroupSnapshot(
        group_snapshots_pb2.GetGroupSnapshotRequest(group_snapshot_id=gs.id)
    )
    assert get == gs
    listed = api.group_snapshots.ListGroupSnapshots(
        group_snapshots_pb2.ListGroupSnapshotsRequest(group_id=group.id)
    )
    assert [x.id for x in listed.group_snapshots] == [gs.id]
    members = api.snapshots.ListSnapshots(
        snapshots_pb2.ListSnapshotsRequest(group_snapshot_id=gs.id)
    )
    assert [s.id for s in members.snapshots] == list(gs.snapshot_ids)

    from_gs = api.groups.CreateGroupFromSource(
        groups_pb2.CreateGroupFromSourceRequest(name="g2", group_snapshot_id=gs.id)
    )
    assert from_gs.group_snapshot_id == gs.id and len(from_gs.volume_ids) == 1
    clone = api.groups.CreateGroupFromSource(
        groups_pb2.CreateGroupFromSourceRequest(name="g3", source_group_id="g1b")
    )
    assert clone.source_group_id == group.id and len(clone.volume_ids) == 1

    listed_groups = api.groups.ListGroups(groups_pb2.ListGroupsRequest())
    assert {g.name: len(g.volume_ids) for g in listed_groups.groups} == {"g1b": 1, "g2": 1, "g3": 1}

    removed = api.groups.UpdateGroup(
        groups_pb2.UpdateGroupRequest(group_id=clone.id, remove_volume_ids=list(clone.volume_ids))
    )
    assert not removed.volume_ids
    readded = api.groups.UpdateGroup(
        groups_pb2.UpdateGroupRequest(group_id=clone.id, add_volume_ids=list(clone.volume_ids))
    )
    assert list(readded.volume_ids) == list(clone.volume_ids)

    api.group_snapshots.DeleteGroupSnapshot(
        group_snapshots_pb2.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id)
    )
    for g in ("g1b", "g2", "g3"):
        api.groups.DeleteGroup(groups_pb2.DeleteGroupRequest(group_id=g, delete_volumes=True))
    assert not api.groups.ListGroups(groups_pb2.ListGroupsRequest()).groups
    assert not api.volumes.ListVolumes(volumes_pb2.ListVolumesRequest()).volumes


def test_consistency_group_facade(api: Stubs) -> None:
    cg_pb = consistency_groups_pb2
    api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="vt", extra_specs=CONSISTENT))
    cg = api.cgs.CreateConsistencyGroup(
        cg_pb.CreateConsistencyGroupRequest(name="cg1", description="d", volume_types=["vt"])
    )
    assert cg.status == common_pb2.GROUP_STATUS_AVAILABLE and cg.description == "d"
    vol = api.volumes.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name="m1", size_bytes=GIB, volume_type="vt", group_id="cg1")
    )
    got = api.cgs.GetConsistencyGroup(cg_pb.GetConsistencyGroupRequest(consistencygroup_id="cg1"))
    assert list(got.volume_ids) == [vol.id]
    # The generic API does not see it.
    assert not api.groups.ListGroups(groups_pb2.ListGroupsRequest()).groups

    renamed = api.cgs.UpdateConsistencyGroup(
        cg_pb.UpdateConsistencyGroupRequest(consistencygroup_id=cg.id, name="cg1b")
    )
    assert renamed.name == "cg1b"
    listed = api.cgs.ListConsistencyGroups(cg_pb.ListConsistencyGroupsRequest())
    assert [c.id for c in listed.consistencygroups] == [cg.id]

    snap = api.cgs.CreateCgsnapshot(
        cg_pb.CreateCgsnapshotRequest(consistencygroup_id="cg1b", name="cgs1")
    )
    assert snap.consistencygroup_id == cg.id and len(snap.snapshot_ids) == 1
    assert api.cgs.GetCgsnapshot(cg_pb.GetCgsnapshotRequest(cgsnapshot_id="cgs1")) == snap
    snaps = api.cgs.ListCgsnapshots(cg_pb.ListCgsnapshotsRequest(consistencygroup_id=cg.id))
    assert [s.id for s in snaps.cgsnapshots] == [snap.id]
    assert not api.group_snapshots.ListGroupSnapshots(
        group_snapshots_pb2.ListGroupSnapshotsRequest()
    ).group_snapshots

    from_snap = api.cgs.CreateConsistencyGroupFromSource(
        cg_pb.CreateConsistencyGroupFromSourceRequest(name="cg2", cgsnapshot_id="cgs1")
    )
    assert from_snap.cgsnapshot_id == snap.id and len(from_snap.volume_ids) == 1
    clone = api.cgs.CreateConsistencyGroupFromSource(
        cg_pb.CreateConsistencyGroupFromSourceRequest(name="cg3", consistencygroup_id="cg1b")
    )
    assert clone.source_cgid == cg.id

    api.cgs.DeleteCgsnapshot(cg_pb.DeleteCgsnapshotRequest(cgsnapshot_id=snap.id))
    for name in ("cg1b", "cg2", "cg3"):
        api.cgs.DeleteConsistencyGroup(
            cg_pb.DeleteConsistencyGroupRequest(consistencygroup_id=name, delete_volumes=True)
        )
    assert not api.cgs.ListConsistencyGroups(cg_pb.ListConsistencyGroupsRequest()).consistencygroups


def test_get_capabilities(api: Stubs) -> None:
    caps = api.capabilities.GetCapabilities(capabilities_pb2.GetCapabilitiesRequest())
    assert caps.host == "test-host" and caps.volume_backend_name == "cohort"
    assert caps.generation >= 1 and caps.updated_at.seconds > 0
    (pool,) = caps.pools
    assert pool.total_capacity_bytes == 100 * GIB and pool.thin_provisioning_support


def test_request_id_round_trip_and_metrics(api: Stubs) -> None:
    request = types_pb2.ListVolumeTypesRequest()
    method = "/cohort.v1.Types/ListVolumeTypes"
    before = metrics.REQUESTS.labels(method=method, code="OK")._value.get()
    _, call = api.types.ListVolumeTypes.with_call(request, metadata=[("x-request-id", "req-42")])
    assert ("x-request-id", "req-42") in [(m.key, m.value) for m in call.trailing_metadata()]
    _, call = api.types.ListVolumeTypes.with_call(request)
    (generated,) = [m.value for m in call.trailing_metadata() if m.key == "x-request-id"]
    assert len(generated) == 36  # a uuid4
    _, call = api.types.ListVolumeTypes.with_call(request, metadata=[("x-request-id", "a b")])
    (replaced,) = [m.value for m in call.trailing_metadata() if m.key == "x-request-id"]
    assert len(replaced) == 36  # "a b" is no request id: replaced
    assert metrics.REQUESTS.labels(method=method, code="OK")._value.get() == before + 3
    assert isinstance(call.code(), grpc.StatusCode)
