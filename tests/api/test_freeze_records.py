"""A group snapshot's (cgsnapshot's) and a group clone's freeze record, as a client reads it."""

from __future__ import annotations

import pytest

from cohort.domain.model import FreezePath, FreezeRecord
from cohort.v1 import common_pb2
from cohort.v1 import consistency_groups_pb2 as cg_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.api import scenario
from tests.api.conftest import Api
from tests.freezing import report_freeze


def freeze_of(volume_ids: list[str]) -> tuple[FreezeRecord, common_pb2.Freeze]:
    stalls = {v: 0.01 * (n + 1) for n, v in enumerate(volume_ids)}
    message = common_pb2.Freeze(
        path=common_pb2.FREEZE_PATH_FREEZE,
        window_seconds=0.5,
        stalls=[common_pb2.GateStall(volume_id=v, stall_seconds=s) for v, s in stalls.items()],
    )
    return FreezeRecord(FreezePath.FREEZE, 0.5, stalls), message


def test_group_snapshots_and_clones_answer_their_freeze(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = scenario.group_with_volumes(api, count=2)
    record, expected = freeze_of(list(group.volume_ids))
    report_freeze(monkeypatch, api.sim, "create_group_snapshot", record)
    report_freeze(monkeypatch, api.sim, "create_group_from_src", record)
    gsnap = scenario.group_snapshot(api, group.id)
    assert gsnap.freeze == expected
    request = gs_pb.GetGroupSnapshotRequest(group_snapshot_id="gs1")
    assert api.group_snapshots.GetGroupSnapshot(request).freeze == expected
    listed = api.group_snapshots.ListGroupSnapshots(gs_pb.ListGroupSnapshotsRequest())
    assert [gs.freeze for gs in listed.group_snapshots] == [expected]
    clone = api.groups.CreateGroupFromSource(
        g_pb.CreateGroupFromSourceRequest(name="clone", source_group_id=group.id)
    )
    assert clone.freeze == expected
    assert api.groups.GetGroup(g_pb.GetGroupRequest(group_id="clone")).freeze == expected
    assert not api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group.id)).HasField("freeze")


def test_cgsnapshots_and_cg_clones_answer_their_freeze(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario.types(api)
    cg = api.cgs.CreateConsistencyGroup(
        cg_pb.CreateConsistencyGroupRequest(name="cg", volume_types=["plain"])
    )
    record, expected = freeze_of([])
    report_freeze(monkeypatch, api.sim, "create_group_snapshot", record)
    report_freeze(monkeypatch, api.sim, "create_group_from_src", record)
    api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(
            name="v", size_bytes=8 * scenario.MIB, volume_type="plain", group_id=cg.id
        )
    )
    cgsnap = api.cgs.CreateCgsnapshot(
        cg_pb.CreateCgsnapshotRequest(consistencygroup_id="cg", name="cs")
    )
    assert cgsnap.freeze == expected
    clone = api.cgs.CreateConsistencyGroupFromSource(
        cg_pb.CreateConsistencyGroupFromSourceRequest(name="clone", consistencygroup_id="cg")
    )
    assert clone.freeze == expected
