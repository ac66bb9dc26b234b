"""Repository.patch (only the named attributes) and Repository.total (a sum), on every store."""

from __future__ import annotations

import dataclasses

import pytest

from cohort.domain.model import (
    FreezePath,
    FreezeRecord,
    Group,
    GroupSnapshot,
    GroupType,
    Volume,
    VolumeStatus,
    VolumeType,
)
from cohort.errors import AlreadyExists, NotFound
from cohort.store import ReadOnlyTransaction, SqlStore


def volumes(store: SqlStore, *sizes: int) -> list[Volume]:
    vt = VolumeType(name="t")
    made = [
        Volume(name=f"v{i}", size_bytes=size, volume_type_id=vt.id) for i, size in enumerate(sizes)
    ]
    with store.transaction() as tx:
        tx.volume_types.add(vt)
        for v in made:
            tx.volumes.add(v)
    return made


def test_patch_sets_only_the_named_attributes(store: SqlStore) -> None:
    (v,) = volumes(store, 10)
    with store.transaction() as tx:
        tx.volumes.patch(v.id, status=VolumeStatus.EXTENDING, size_bytes=20)
        # the transaction's own reads see the patch
        assert tx.volumes.get(v.id) == dataclasses.replace(
            v, status=VolumeStatus.EXTENDING, size_bytes=20
        )
    with store.transaction() as tx:
        tx.volumes.patch(v.id, description="d")
    with store.transaction(readonly=True) as tx:
        assert tx.volumes.get(v.id) == dataclasses.replace(
            v, status=VolumeStatus.EXTENDING, size_bytes=20, description="d"
        )


def test_patch_refusals(store: SqlStore) -> None:
    a, b = volumes(store, 1, 2)
    with store.transaction() as tx:
        with pytest.raises(NotFound):
            tx.volumes.patch("00000000-0000-4000-8000-000000000000", size_bytes=3)
        for bad in ({"seq": 1}, {"nothing": 1}):
            with pytest.raises(ValueError, match="cannot patch"):
                tx.volumes.patch(a.id, **bad)
        with pytest.raises(AlreadyExists):
            tx.volumes.patch(a.id, name=b.name)
        tx.volumes.patch(a.id, name="free")  # the transaction goes on
    with store.transaction(readonly=True) as tx:
        assert tx.volumes.by_name("free") == dataclasses.replace(a, name="free")
        with pytest.raises(ReadOnlyTransaction):
            tx.volumes.patch(a.id, size_bytes=5)


def test_total_sums_the_matching_records(store: SqlStore) -> None:
    a, _, c = volumes(store, 1, 2, 4)
    with store.transaction() as tx:
        assert tx.volumes.total("size_bytes") == 7
        tx.volumes.patch(c.id, status=VolumeStatus.ERROR)
        assert tx.volumes.total("size_bytes", status=VolumeStatus.ERROR) == 4
        assert tx.volumes.total("size_bytes", status=VolumeStatus.DELETING) == 0
        assert tx.volumes.total("size_bytes", group_id=None, name=a.name) == 1
        with pytest.raises(ValueError):
            tx.volumes.total("nothing")
        with pytest.raises(ValueError):
            tx.groups.total("volume_type_ids")  # JSON: not a column to sum


def test_patch_sets_and_clears_a_freeze_record(store: SqlStore) -> None:
    gt = GroupType(name="gt")
    group = Group(name="g", group_type_id=gt.id, volume_type_ids=[])
    gs = GroupSnapshot(name="gs", group_id=group.id, group_type_id=gt.id)
    record = FreezeRecord(FreezePath.FREEZE, 0.042, {"a": 0.03, "b": 0.01})
    with store.transaction() as tx:
        tx.group_types.add(gt)
        tx.groups.add(group)
        tx.group_snapshots.add(gs)
        tx.group_snapshots.patch(gs.id, freeze=record)
        tx.groups.patch(group.id, freeze=FreezeRecord(FreezePath.PLAIN))
    with store.transaction(readonly=True) as tx:
        got = tx.group_snapshots.get(gs.id)
        assert got is not None and got.freeze == record
        assert type(got.freeze.path) is FreezePath
        assert tx.groups.get(group.id) == dataclasses.replace(
            group, freeze=FreezeRecord(FreezePath.PLAIN)
        )
    with store.transaction() as tx:
        tx.group_snapshots.patch(gs.id, freeze=None)
    with store.transaction(readonly=True) as tx:
        assert tx.group_snapshots.get(gs.id) == gs
