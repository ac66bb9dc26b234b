"""Preconditions, idempotency by name, name reuse, capability matching, validation, paging."""

from __future__ import annotations

import grpc
import pytest

from cohort.v1 import common_pb2 as c
from cohort.v1 import consistency_groups_pb2 as cg_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.api import scenario
from tests.api.conftest import GIB, Api
from tests.api.scenario import code_of

MIB = scenario.MIB
CODE = grpc.StatusCode


def volume(
    api: Api, name: str, vtype: str = "fast", group: str = "", size: int = 8 * MIB
) -> v_pb.Volume:
    return api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(name=name, size_bytes=size, volume_type=vtype, group_id=group)
    )


# -- idempotency and names ------------------------------------------------------------------
def test_create_volume_is_idempotent_by_name(api: Api) -> None:
    scenario.types(api)
    first = volume(api, "v")
    assert volume(api, "v").id == first.id
    assert (
        code_of(
            api.volumes.CreateVolume,
            v_pb.CreateVolumeRequest(name="v", size_bytes=16 * MIB, volume_type="fast"),
        )
        is CODE.ALREADY_EXISTS
    )
    api.volumes.DeleteVolume(v_pb.DeleteVolumeRequest(volume_id=first.id))
    assert volume(api, "v").id != first.id  # a deleted object's name is free again


def test_idempotent_types_groups_snapshots(api: Api) -> None:
    scenario.types(api)
    scenario.types(api)  # same arguments: the existing types
    assert (
        code_of(api.types.CreateVolumeType, t_pb.CreateVolumeTypeRequest(name="fast"))
        is CODE.ALREADY_EXISTS
    )
    group = scenario.group_with_volumes(api, count=1)
    again = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name="g1", group_type="consistent", volume_types=["fast"])
    )
    assert again.id == group.id
    assert (
        code_of(
            api.groups.CreateGroup,
            g_pb.CreateGroupRequest(name="g1", group_type="generic", volume_types=["plain"]),
        )
        is CODE.ALREADY_EXISTS
    )
    gs = scenario.group_snapshot(api, group.id)
    assert scenario.group_snapshot(api, group.id).id == gs.id
    vol = volume(api, "solo")
    snap = api.snapshots.CreateSnapshot(s_pb.CreateSnapshotRequest(volume_id=vol.id, name="s"))
    assert (
        api.snapshots.CreateSnapshot(s_pb.CreateSnapshotRequest(volume_id=vol.id, name="s")).id
        == snap.id
    )


def test_names_of_the_form_of_an_id_are_refused(api: Api) -> None:
    """Otherwise a lookup by id or name could find another object than the one named."""
    group = scenario.group_with_volumes(api, count=1)
    vol_id = group.volume_ids[0]
    cg = api.cgs.CreateConsistencyGroup(
        cg_pb.CreateConsistencyGroupRequest(name="cg", volume_types=["fast"])
    )
    for taken in (vol_id, vol_id.upper(), group.id):
        creates = [
            (api.types.CreateVolumeType, t_pb.CreateVolumeTypeRequest(name=taken)),
            (api.types.CreateGroupType, t_pb.CreateGroupTypeRequest(name=taken)),
            (
                api.volumes.CreateVolume,
                v_pb.CreateVolumeRequest(name=taken, size_bytes=MIB, volume_type="fast"),
            ),
            (
                api.snapshots.CreateSnapshot,
                s_pb.CreateSnapshotRequest(volume_id=vol_id, name=taken),
            ),
            (
                api.groups.CreateGroup,
                g_pb.CreateGroupRequest(name=taken, group_type="generic", volume_types=["plain"]),
            ),
            (
                api.groups.CreateGroupFromSource,
                g_pb.CreateGroupFromSourceRequest(name=taken, source_group_id=group.id),
            ),
            (api.groups.UpdateGroup, g_pb.UpdateGroupRequest(group_id=group.id, name=taken)),
            (
                api.group_snapshots.CreateGroupSnapshot,
                gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=taken),
            ),
            (
                api.cgs.CreateConsistencyGroup,
                cg_pb.CreateConsistencyGroupRequest(name=taken, volume_types=["fast"]),
            ),
            (
                api.cgs.CreateCgsnapshot,
                cg_pb.CreateCgsnapshotRequest(consistencygroup_id=cg.id, name=taken),
            ),
        ]
        for call, request in creates:
            with pytest.raises(grpc.RpcError) as info:
                call(request)
            assert info.value.code() is CODE.INVALID_ARGUMENT, request
            assert "has the form of an id" in (info.value.details() or ""), request
    # an id in another case is no reference either: ids are lowercase
    request = g_pb.GetGroupRequest(group_id=group.id.upper())
    assert code_of(api.groups.GetGroup, request) is CODE.INVALID_ARGUMENT
    assert api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group.id)).name == "g1"


# -- capability matching and capacity -------------------------------------------------------
@pytest.mark.parametrize(
    ("specs", "ok"),
    [
        ({"thin_provisioning_support": "<is> True"}, True),
        ({"capabilities:thin_provisioning_support": "<is> False"}, False),
        ({"total_capacity_gb": ">= 50"}, True),
        ({"total_capacity_gb": ">= 500"}, False),
        ({"storage_protocol": "<in> iSCSI"}, True),
        ({"volume_backend_name": "s== other"}, False),
        ({"storage_protocol": "<or> FC <or> iSCSI"}, True),
        ({"some_user_key": "anything"}, True),  # not a capability: ignored
    ],
)
def test_volume_type_specs_must_match_capabilities(
    api: Api, specs: dict[str, str], ok: bool
) -> None:
    api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name="t", extra_specs=specs))
    request = v_pb.CreateVolumeRequest(name="v", size_bytes=MIB, volume_type="t")
    if ok:
        api.volumes.CreateVolume(request)
    else:
        assert code_of(api.volumes.CreateVolume, request) is CODE.FAILED_PRECONDITION
        assert not api.volumes.ListVolumes(v_pb.ListVolumesRequest()).volumes


def test_over_subscription_is_resource_exhausted(api: Api) -> None:
    scenario.types(api)
    # 100 GiB pool, ratio 20: 2000 GiB may be provisioned, no more
    volume(api, "big", size=1500 * GIB)
    request = v_pb.CreateVolumeRequest(name="more", size_bytes=600 * GIB, volume_type="fast")
    assert code_of(api.volumes.CreateVolume, request) is CODE.RESOURCE_EXHAUSTED
    assert [v.name for v in api.volumes.ListVolumes(v_pb.ListVolumesRequest()).volumes] == ["big"]


def test_consistent_group_type_needs_consistent_volume_types(api: Api) -> None:
    """Cinder's generic volume groups document: every volume type of a consistent group
    carries the spec too. Refused at each way a volume type reaches the group, never a
    silent fall back to a plain group."""
    scenario.types(api)
    for types in (["plain"], ["fast", "plain"]):
        request = g_pb.CreateGroupRequest(name="g", group_type="consistent", volume_types=types)
        assert code_of(api.groups.CreateGroup, request) is CODE.FAILED_PRECONDITION
    consistent = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name="c", group_type="consistent", volume_types=["fast"])
    )
    assert consistent.consistent_group_snapshot_enabled
    loose = volume(api, "loose", vtype="plain")
    add = g_pb.UpdateGroupRequest(group_id=consistent.id, add_volume_ids=[loose.id])
    assert code_of(api.groups.UpdateGroup, add) is CODE.FAILED_PRECONDITION
    into = v_pb.CreateVolumeRequest(
        name="into", size_bytes=8 * MIB, volume_type="plain", group_id=consistent.id
    )
    assert code_of(api.volumes.CreateVolume, into) is CODE.FAILED_PRECONDITION
    assert not api.groups.GetGroup(g_pb.GetGroupRequest(group_id=consistent.id)).volume_ids
    assert api.volumes.GetVolume(v_pb.GetVolumeRequest(volume_id=loose.id)).group_id == ""
    group = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name="g", group_type="generic", volume_types=["plain", "fast"])
    )
    assert not group.consistent_group_snapshot_enabled
    plain = volume(api, "p", vtype="plain")
    api.groups.UpdateGroup(g_pb.UpdateGroupRequest(group_id=group.id, add_volume_ids=[plain.id]))


def test_consistent_groups_refused_when_backend_is_not_consistent(api: Api) -> None:
    scenario.types(api)
    api.sim.consistent_group_snapshot = False
    api.manager.refresh_pool()  # a backend's capabilities change only at restart
    request = g_pb.CreateGroupRequest(name="g", group_type="consistent", volume_types=["fast"])
    assert code_of(api.groups.CreateGroup, request) is CODE.FAILED_PRECONDITION


# -- preconditions --------------------------------------------------------------------------
def test_add_and_remove_preconditions(api: Api) -> None:
    group = scenario.group_with_volumes(api, count=1)
    other = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name="other", group_type="consistent", volume_types=["fast"])
    )
    member = group.volume_ids[0]
    wrong_type = volume(api, "plainvol", vtype="plain")
    for req in (
        g_pb.UpdateGroupRequest(group_id=other.id, add_volume_ids=[member]),  # in another group
        g_pb.UpdateGroupRequest(group_id=other.id, add_volume_ids=[wrong_type.id]),  # type
        g_pb.UpdateGroupRequest(group_id=other.id, remove_volume_ids=[wrong_type.id]),  # not in
    ):
        assert code_of(api.groups.UpdateGroup, req) is CODE.FAILED_PRECONDITION
    req = g_pb.UpdateGroupRequest(
        group_id=other.id, add_volume_ids=[member], remove_volume_ids=[member]
    )
    assert code_of(api.groups.UpdateGroup, req) is CODE.INVALID_ARGUMENT
    missing = "00000000-0000-4000-8000-000000000000"
    req = g_pb.UpdateGroupRequest(group_id=other.id, add_volume_ids=[missing])
    assert code_of(api.groups.UpdateGroup, req) is CODE.NOT_FOUND


def test_delete_group_preconditions(api: Api) -> None:
    group = scenario.group_with_volumes(api, count=2)
    plain = g_pb.DeleteGroupRequest(group_id=group.id)
    assert code_of(api.groups.DeleteGroup, plain) is CODE.FAILED_PRECONDITION  # has volumes
    gs = scenario.group_snapshot(api, group.id)
    with_volumes = g_pb.DeleteGroupRequest(group_id=group.id, delete_volumes=True)
    assert code_of(api.groups.DeleteGroup, with_volumes) is CODE.FAILED_PRECONDITION  # gsnap
    api.group_snapshots.DeleteGroupSnapshot(
        gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id)
    )
    snap = api.snapshots.CreateSnapshot(
        s_pb.CreateSnapshotRequest(volume_id=group.volume_ids[0], name="own")
    )
    assert code_of(api.groups.DeleteGroup, with_volumes) is CODE.FAILED_PRECONDITION  # own snap
    api.snapshots.DeleteSnapshot(s_pb.DeleteSnapshotRequest(snapshot_id=snap.id))
    api.groups.DeleteGroup(with_volumes)
    assert not api.volumes.ListVolumes(v_pb.ListVolumesRequest()).volumes


def test_delete_volume_and_snapshot_preconditions(api: Api) -> None:
    group = scenario.group_with_volumes(api, count=1)
    member = group.volume_ids[0]
    assert (
        code_of(api.volumes.DeleteVolume, v_pb.DeleteVolumeRequest(volume_id=member))
        is CODE.FAILED_PRECONDITION
    )  # in a group
    gs = scenario.group_snapshot(api, group.id)
    assert (
        code_of(
            api.snapshots.DeleteSnapshot, s_pb.DeleteSnapshotRequest(snapshot_id=gs.snapshot_ids[0])
        )
        is CODE.FAILED_PRECONDITION
    )  # in a group snapshot
    solo = volume(api, "solo")
    api.snapshots.CreateSnapshot(s_pb.CreateSnapshotRequest(volume_id=solo.id, name="s1"))
    assert (
        code_of(api.volumes.DeleteVolume, v_pb.DeleteVolumeRequest(volume_id=solo.id))
        is CODE.FAILED_PRECONDITION
    )  # origin of snapshots


def test_create_from_source_preconditions(api: Api) -> None:
    group = scenario.group_with_volumes(api, count=1)
    both = g_pb.CreateGroupFromSourceRequest(name="x", source_group_id=group.id)
    none = g_pb.CreateGroupFromSourceRequest(name="x")
    assert code_of(api.groups.CreateGroupFromSource, none) is CODE.INVALID_ARGUMENT
    empty = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name="empty", group_type="consistent", volume_types=["fast"])
    )
    assert (
        code_of(
            api.group_snapshots.CreateGroupSnapshot,
            gs_pb.CreateGroupSnapshotRequest(group_id=empty.id, name="gs"),
        )
        is CODE.FAILED_PRECONDITION
    )  # no volumes
    api.faults(create_group={"raise": True})
    with pytest.raises(grpc.RpcError):
        api.groups.CreateGroup(
            g_pb.CreateGroupRequest(name="broken", group_type="consistent", volume_types=["fast"])
        )
    assert (
        code_of(
            api.groups.CreateGroupFromSource,
            g_pb.CreateGroupFromSourceRequest(name="y", source_group_id="broken"),
        )
        is CODE.FAILED_PRECONDITION
    )  # source not available
    assert api.groups.CreateGroupFromSource(both).status == c.GROUP_STATUS_AVAILABLE


def test_type_in_use_cannot_be_deleted(api: Api) -> None:
    scenario.group_with_volumes(api, count=1)
    for call, req in (
        (api.types.DeleteVolumeType, t_pb.DeleteVolumeTypeRequest(volume_type="fast")),
        (api.types.DeleteGroupType, t_pb.DeleteGroupTypeRequest(group_type="consistent")),
    ):
        assert code_of(call, req) is CODE.FAILED_PRECONDITION
    api.types.DeleteVolumeType(t_pb.DeleteVolumeTypeRequest(volume_type="plain"))
    api.types.DeleteGroupType(t_pb.DeleteGroupTypeRequest(group_type="generic"))


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_",
    [
        v_pb.CreateVolumeRequest(name="-rf", size_bytes=MIB, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="--help", size_bytes=MIB, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="a/b", size_bytes=MIB, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="x\n", size_bytes=MIB, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="", size_bytes=MIB, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="x" * 256, size_bytes=MIB, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="ok", size_bytes=0, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="ok", size_bytes=-1, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="ok", size_bytes=2**62, volume_type="fast"),
        v_pb.CreateVolumeRequest(name="ok", size_bytes=MIB, volume_type="fast", snapshot_id="nope"),
    ],
)
def test_bad_volume_requests_are_invalid_argument(
    api: Api, request_: v_pb.CreateVolumeRequest
) -> None:
    scenario.types(api)
    assert code_of(api.volumes.CreateVolume, request_) is CODE.INVALID_ARGUMENT
    assert not api.volumes.ListVolumes(v_pb.ListVolumesRequest()).volumes


def test_bad_ids_and_tokens(api: Api) -> None:
    assert (
        code_of(api.volumes.GetVolume, v_pb.GetVolumeRequest(volume_id="-x"))
        is CODE.INVALID_ARGUMENT
    )
    assert (
        code_of(
            api.volumes.GetVolume,
            v_pb.GetVolumeRequest(volume_id="00000000-0000-4000-8000-000000000000"),
        )
        is CODE.NOT_FOUND
    )
    assert (
        code_of(api.volumes.ListVolumes, v_pb.ListVolumesRequest(page_token="garbage"))
        is CODE.INVALID_ARGUMENT
    )
    assert (
        code_of(api.volumes.ListVolumes, v_pb.ListVolumesRequest(page_size=5000))
        is CODE.INVALID_ARGUMENT
    )
    assert (
        code_of(
            api.types.CreateVolumeType,
            t_pb.CreateVolumeTypeRequest(name="t", extra_specs={"-bad": "x"}),
        )
        is CODE.INVALID_ARGUMENT
    )


# -- paging and filters ---------------------------------------------------------------------
def test_lists_page_and_filter(api: Api) -> None:
    group = scenario.group_with_volumes(api, count=3)
    names = [volume(api, f"solo{i}").name for i in range(4)]
    seen, token = [], ""
    while True:
        page = api.volumes.ListVolumes(v_pb.ListVolumesRequest(page_size=2, page_token=token))
        assert len(page.volumes) <= 2
        seen += [v.name for v in page.volumes]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"g1-v{i}" for i in range(3)] + names
    in_group = api.volumes.ListVolumes(v_pb.ListVolumesRequest(group_id="g1")).volumes
    assert {v.id for v in in_group} == set(group.volume_ids)
    available = api.volumes.ListVolumes(
        v_pb.ListVolumesRequest(status=c.VOLUME_STATUS_AVAILABLE)
    ).volumes
    assert len(available) == 7
    assert not api.volumes.ListVolumes(
        v_pb.ListVolumesRequest(status=c.VOLUME_STATUS_ERROR)
    ).volumes


def test_volume_type_defaults_to_the_type_named_default(api: Api) -> None:
    request = v_pb.CreateVolumeRequest(name="v", size_bytes=MIB)
    assert code_of(api.volumes.CreateVolume, request) is CODE.INVALID_ARGUMENT
    default = api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name="default"))
    assert api.volumes.CreateVolume(request).volume_type_id == default.id
