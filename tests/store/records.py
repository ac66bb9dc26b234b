"""Records with every attribute set away from its default, for round trips."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from cohort.domain.model import (
    FreezePath,
    FreezeRecord,
    Group,
    GroupSnapshot,
    GroupStatus,
    GroupType,
    Operation,
    OperationState,
    Snapshot,
    SnapshotStatus,
    StepRecord,
    StepState,
    Volume,
    VolumeStatus,
    VolumeType,
)
from cohort.store import SqlStore

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@dataclass
class Graph:
    volume_type: VolumeType
    group_type: GroupType
    group: Group
    volume: Volume
    clone: Volume
    group_snapshot: GroupSnapshot
    snapshot: Snapshot
    operation: Operation

    def all(self) -> list[object]:
        return [
            self.volume_type,
            self.group_type,
            self.group,
            self.volume,
            self.clone,
            self.group_snapshot,
            self.snapshot,
            self.operation,
        ]


def graph(suffix: str = "") -> Graph:
    vt = VolumeType(
        name=f"gold{suffix}",
        description="fast",
        extra_specs={"consistent_group_snapshot_enabled": "<is> True", "x": "ü"},
        created_at=T0,
    )
    gt = GroupType(
        name=f"cg{suffix}",
        description="consistent",
        group_specs={"consistent_group_snapshot_enabled": "<is> True"},
        reserved=True,
        created_at=T0,
    )
    group = Group(
        name=f"g{suffix}",
        group_type_id=gt.id,
        volume_type_ids=[vt.id, "other"],
        status=GroupStatus.AVAILABLE,
        description="a group",
        consistent=True,
        source_group_id="src-group",
        group_snapshot_id="src-gs",
        freeze=FreezeRecord(FreezePath.PLAIN),
        created_at=T0,
        updated_at=T0 + timedelta(seconds=1),
    )
    volume = Volume(
        name=f"v{suffix}",
        size_bytes=1 << 40,
        volume_type_id=vt.id,
        status=VolumeStatus.IN_USE,
        description="a volume",
        group_id=group.id,
        device_path="/dev/mapper/cohort-gate-x",
        created_at=T0,
        updated_at=T0,
    )
    clone = Volume(
        name=f"clone{suffix}",
        size_bytes=1 << 30,
        volume_type_id=vt.id,
        status=VolumeStatus.ERROR_DELETING,
        source_volume_id=volume.id,
        source_snapshot_id="snap-gone",
        created_at=T0 + timedelta(seconds=2),
        # another offset: the store keeps the instant, in UTC
        updated_at=datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2))),
    )
    gs = GroupSnapshot(
        name=f"gs{suffix}",
        group_id=group.id,
        group_type_id=gt.id,
        status=SnapshotStatus.ERROR,
        description="a group snapshot",
        consistent=True,
        # binary fractions and not: the store keeps the float exactly
        freeze=FreezeRecord(FreezePath.FREEZE, 0.1 + 0.2, {"vol-a": 0.25, "vol-b": 1e-6}),
        created_at=T0,
        updated_at=T0,
    )
    snap = Snapshot(
        name=f"s{suffix}",
        volume_id=volume.id,
        size_bytes=1 << 40,
        status=SnapshotStatus.AVAILABLE,
        description="a snapshot",
        group_snapshot_id=gs.id,
        created_at=T0,
        updated_at=T0,
    )
    op = Operation(
        kind="create_group_snapshot",
        subject_id=gs.id,
        steps=[
            StepRecord(seq=1, action="snapshot", params={"lv": "a"}, state=StepState.DONE),
            StepRecord(seq=2, action="snapshot", params={"lv": "b"}),
        ],
        state=OperationState.ROLLED_BACK,
        created_at=T0,
        updated_at=T0,
    )
    return Graph(vt, gt, group, volume, clone, gs, snap, op)


def add_graph(store: SqlStore, g: Graph) -> None:
    with store.transaction() as tx:
        tx.volume_types.add(g.volume_type)
        tx.group_types.add(g.group_type)
        tx.groups.add(g.group)
        tx.volumes.add(g.volume)
        tx.volumes.add(g.clone)
        tx.group_snapshots.add(g.group_snapshot)
        tx.snapshots.add(g.snapshot)
        tx.operations.add(g.operation)
