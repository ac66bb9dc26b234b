"""Races around sources: a volume extended while its group is snapshotted or cloned, two
snapshots of one group, a volume created into a group being snapshotted, a source deleted while
something is made from it."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from tests.answers import OK
from tests.races.race import TRIES, Racer, Rules, assert_order, either_order
from tests.races.sides import (
    create_group_from_source,
    create_group_snapshot,
    create_volume,
    delete_group_snapshot,
    delete_snapshot,
    delete_volume,
    extend_volume,
)
from tests.races.world import SIZE, World

NOT_FOUND = grpc.StatusCode.NOT_FOUND


def sizes_copied(world: World, copy: str, reply: Any) -> dict[str, int]:
    """Source volume id -> size of its copy in a group snapshot or a group clone."""
    if copy == "group snapshot":
        return {s.volume_id: s.size_bytes for s in world.snapshots_of(reply.id)}
    clones = [world.get_volume(v) for v in reply.volume_ids]
    return {c.source_volume_id: c.size_bytes for c in clones if c is not None}


@pytest.mark.parametrize("copy", ["group snapshot", "group clone"])
def test_extend_against_a_copy_of_its_group(world: World, racer: Racer, copy: str) -> None:
    """The copy is of the size before the extend or after it, as the order says."""
    for _ in range(TRIES):
        group = world.group(members=2)
        extended = group.volume_ids[0]
        if copy == "group snapshot":
            copier = create_group_snapshot(group.id, world.name("gs"))
        else:
            copier = create_group_from_source(world.name("clone"), source_group_id=group.id)
        out = racer.race(
            extend_volume(extended, 2 * SIZE), copier, either_order({extended, group.id})
        )
        got = world.get_volume(extended)
        assert got is not None and got.size_bytes == (2 * SIZE if out.a.ok else SIZE)
        if not out.b.ok:
            continue
        sizes = sizes_copied(world, copy, out.b.reply)
        assert set(sizes) == set(group.volume_ids)
        if out.a.ok:
            assert_order(out, sizes[extended], 2 * SIZE, SIZE)
        else:
            assert sizes[extended] == SIZE


def test_two_snapshots_of_one_group(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        group = world.group(members=2)
        out = racer.race(
            create_group_snapshot(group.id, world.name("gs")),
            create_group_snapshot(group.id, world.name("gs")),
            either_order({group.id, *group.volume_ids}),
        )
        for ans in (out.a, out.b):
            if ans.ok:
                snapped = {s.volume_id for s in world.snapshots_of(ans.reply.id)}
                assert snapped == set(group.volume_ids)


def test_create_into_group_against_group_snapshot(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        group = world.group(members=1)
        before = set(group.volume_ids)
        name = world.name("v")
        out = racer.race(
            create_volume(name, group_id=group.id),
            create_group_snapshot(group.id, world.name("gs")),
            either_order({group.id}),
        )
        after = before | {out.a.reply.id} if out.a.ok else before
        assert world.members(group.id) == after
        assert (world.volume_named(name) is not None) == out.a.ok
        if not out.b.ok:
            continue
        snapped = {s.volume_id for s in world.snapshots_of(out.b.reply.id)}
        if out.a.ok:
            assert_order(out, snapped, after, before)
        else:
            assert snapped == before


@pytest.mark.parametrize("source", ["volume", "snapshot"])
def test_create_from_a_source_against_its_delete(world: World, racer: Racer, source: str) -> None:
    for _ in range(TRIES):
        vol = world.volume()
        name = world.name("v")
        if source == "volume":
            source_id = vol.id
            make, delete = create_volume(name, volume_id=vol.id), delete_volume(vol.id)
        else:
            source_id = world.snapshot(vol.id).id
            make = create_volume(name, snapshot_id=source_id)
            delete = delete_snapshot(source_id)
        out = racer.race(
            make,
            delete,
            Rules(a_first=(OK, OK), b_first=(NOT_FOUND, OK), contested=frozenset({source_id})),
        )
        made = world.volume_named(name)
        assert (made is not None) == out.a.ok
        if made is not None:
            assert made.id == out.a.reply.id and made.size_bytes == SIZE
        if source == "volume":
            assert (world.get_volume(source_id) is None) == out.b.ok
        else:
            assert (world.get_snapshot(source_id) is None) == out.b.ok


def test_delete_group_snapshot_against_create_from_it(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        group = world.group(members=2)
        gsnap = world.group_snapshot(group.id)
        snapshot_ids = set(gsnap.snapshot_ids)
        out = racer.race(
            create_group_from_source(world.name("from"), group_snapshot_id=gsnap.id),
            delete_group_snapshot(gsnap.id),
            Rules(
                a_first=(OK, OK),
                b_first=(NOT_FOUND, OK),
                contested=frozenset({gsnap.id, *snapshot_ids}),
            ),
        )
        assert (world.get_group_snapshot(gsnap.id) is None) == out.b.ok
        assert all((world.get_snapshot(s) is None) == out.b.ok for s in snapshot_ids)
        if out.a.ok:
            made = world.get_group(out.a.reply.id)
            assert made is not None and len(made.volume_ids) == 2
            sources = {v.source_snapshot_id for v in map(world.get_volume, made.volume_ids) if v}
            assert sources == snapshot_ids
