"""Races over a group's membership: the same volume added to two groups, added while deleted,
extended while added or removed, a group deleted or snapshotted while updated."""

from __future__ import annotations

import grpc
import pytest

from tests.answers import OK
from tests.races.race import TRIES, Racer, Rules, Side, assert_order, either_order
from tests.races.sides import (
    create_group_snapshot,
    delete_group,
    delete_volume,
    extend_volume,
    update_group,
)
from tests.races.world import SIZE, World

FAILED = grpc.StatusCode.FAILED_PRECONDITION
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def membership(group_id: str, change: str, volume_id: str) -> Side:
    """UpdateGroup adding ("add") or removing ("remove") one volume."""
    if change == "add":
        return update_group(group_id, add=[volume_id])
    return update_group(group_id, remove=[volume_id])


def test_the_same_volume_added_to_two_groups(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        g1, g2, vol = world.group(), world.group(), world.volume()
        out = racer.race(
            update_group(g1.id, add=[vol.id]),
            update_group(g2.id, add=[vol.id]),
            Rules(a_first=(OK, FAILED), b_first=(FAILED, OK), contested=frozenset({vol.id})),
        )
        winner, loser = (g1, g2) if out.first == "a" else (g2, g1)
        answered = out.a.reply if out.first == "a" else out.b.reply
        assert list(answered.volume_ids) == [vol.id]
        got = world.get_volume(vol.id)
        assert got is not None and got.group_id == winner.id
        assert world.members(winner.id) == {vol.id}
        assert world.members(loser.id) == set()


def test_add_against_delete_of_the_volume(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        group, vol = world.group(), world.volume()
        out = racer.race(
            update_group(group.id, add=[vol.id]),
            delete_volume(vol.id),
            Rules(a_first=(OK, FAILED), b_first=(NOT_FOUND, OK), contested=frozenset({vol.id})),
        )
        got = world.get_volume(vol.id)
        if out.a.ok:
            assert got is not None and got.group_id == group.id
            assert world.members(group.id) == {vol.id}
        else:
            assert got is None
            assert world.members(group.id) == set()


@pytest.mark.parametrize("change", ["add", "remove"])
def test_extend_against_a_membership_change(world: World, racer: Racer, change: str) -> None:
    """Neither answered change is undone by the other (each applies only what it changed)."""
    for _ in range(TRIES):
        group = world.group(members=1 if change == "remove" else 0)
        vol = world.volume() if change == "add" else world.get_volume(group.volume_ids[0])
        assert vol is not None
        out = racer.race(
            extend_volume(vol.id, 2 * SIZE),
            membership(group.id, change, vol.id),
            either_order({vol.id}),
        )
        in_group_after = (change == "add") == out.b.ok
        got = world.get_volume(vol.id)
        assert got is not None
        assert got.size_bytes == (2 * SIZE if out.a.ok else SIZE)
        assert got.group_id == (group.id if in_group_after else "")
        assert world.members(group.id) == ({vol.id} if in_group_after else set())
        if out.a.ok:
            assert out.a.reply.size_bytes == 2 * SIZE


@pytest.mark.parametrize("update", ["add", "describe"])
def test_delete_group_against_update_group(world: World, racer: Racer, update: str) -> None:
    for _ in range(TRIES):
        group = world.group(members=1)
        member, extra = group.volume_ids[0], world.volume()
        if update == "add":
            side = update_group(group.id, add=[extra.id])
        else:
            side = update_group(group.id, description="changed")
        out = racer.race(
            delete_group(group.id),
            side,
            Rules(
                a_first=(OK, NOT_FOUND),
                b_first=(OK, OK),
                contested=frozenset({group.id, member, extra.id}),
            ),
        )
        extra_deleted_with_group = out.a.ok and out.b.ok and update == "add"
        assert (world.get_volume(extra.id) is None) == extra_deleted_with_group
        if out.a.ok:
            assert world.get_group(group.id) is None
            assert world.get_volume(member) is None
            continue
        after = world.get_group(group.id)
        assert after is not None
        if update == "add":
            assert set(after.volume_ids) == {member, extra.id}
        else:
            assert after.description == "changed"


@pytest.mark.parametrize("change", ["add", "remove"])
def test_group_snapshot_against_update_group(world: World, racer: Racer, change: str) -> None:
    """A group snapshot holds exactly the members the group had when it was taken."""
    for _ in range(TRIES):
        group = world.group(members=2)
        before = set(group.volume_ids)
        if change == "add":
            moved = world.volume().id
            after = before | {moved}
        else:
            moved = group.volume_ids[1]
            after = before - {moved}
        out = racer.race(
            create_group_snapshot(group.id, world.name("gs")),
            membership(group.id, change, moved),
            either_order({group.id, *before, *after}),
        )
        assert world.members(group.id) == (after if out.b.ok else before)
        if not out.a.ok:
            continue
        snapped = {s.volume_id for s in world.snapshots_of(out.a.reply.id)}
        assert len(out.a.reply.snapshot_ids) == len(snapped)
        if out.b.ok:
            assert_order(out, snapped, before, after)
        else:
            assert snapped == before
