"""Races over names and deletes: a rename against a create of that name, two identical creates
(both get the one object, settled), two deletes of one object."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from cohort.v1 import common_pb2 as c
from tests.answers import OK
from tests.races.held import while_held
from tests.races.race import TRIES, Racer, Rules, Side
from tests.races.sides import (
    create_group,
    create_group_snapshot,
    create_snapshot,
    create_volume,
    delete_group,
    delete_group_snapshot,
    delete_snapshot,
    delete_volume,
    update_group,
)
from tests.races.world import World

EXISTS = grpc.StatusCode.ALREADY_EXISTS
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def test_rename_against_create_of_that_name(world: World, racer: Racer) -> None:
    """Exactly one group ends up with the name; the other call is ALREADY_EXISTS, never BUSY
    (the two share no object)."""
    for _ in range(TRIES):
        group = world.group()
        name = world.name("g")
        out = racer.race(
            update_group(group.id, name=name),
            create_group(name, description="another group"),
            Rules(a_first=(OK, EXISTS), b_first=(EXISTS, OK)),
        )
        named = world.get_group(name)
        assert named is not None
        assert named.id == (group.id if out.a.ok else out.b.reply.id)
        renamed = world.get_group(group.id)
        assert renamed is not None and (renamed.name == name) == out.a.ok


#: kind -> (a Side creating one object of that kind, made in `world`; the settled status; the
#: sim method that makes it)
Maker = Callable[[World], Side]
IDENTICAL: dict[str, tuple[Maker, int, str]] = {
    "volume": (lambda w: create_volume(w.name("v")), c.VOLUME_STATUS_AVAILABLE, "create_volume"),
    "snapshot": (
        lambda w: create_snapshot(w.volume().id, w.name("s")),
        c.SNAPSHOT_STATUS_AVAILABLE,
        "create_snapshot",
    ),
    "group": (lambda w: create_group(w.name("g")), c.GROUP_STATUS_AVAILABLE, "create_group"),
    "group snapshot": (
        lambda w: create_group_snapshot(w.group(members=1).id, w.name("gs")),
        c.SNAPSHOT_STATUS_AVAILABLE,
        "create_group_snapshot",
    ),
}


@pytest.mark.parametrize("kind", IDENTICAL)
def test_identical_creates_get_the_one_object(world: World, racer: Racer, kind: str) -> None:
    """The second waits for the first and returns the same object, settled; never BUSY."""
    make, settled, _ = IDENTICAL[kind]
    for _ in range(TRIES):
        side = make(world)
        out = racer.race(side, side, Rules(a_first=(OK, OK), b_first=(OK, OK)))
        assert out.a.reply.id == out.b.reply.id
        assert out.a.reply.status == out.b.reply.status == settled


@pytest.mark.parametrize("kind", IDENTICAL)
def test_identical_create_waits_for_the_first(world: World, racer: Racer, kind: str) -> None:
    """The first held inside the backend: the second waits for it, then gets its object."""
    make, settled, method = IDENTICAL[kind]
    side = make(world)
    first, second = while_held(racer, side, method, side, waits=True)
    assert first.ok and second.ok, f"{first}; {second}"
    assert first.reply.id == second.reply.id
    assert first.reply.status == second.reply.status == settled
    assert not world.problems()


#: kind -> a function making one object of that kind in `world`: (its delete, the ids a BUSY
#: may name, whether it is gone now)
Target = tuple[Side, frozenset[str], Callable[[], bool]]


def _volume(world: World) -> Target:
    vol = world.volume()
    return delete_volume(vol.id), frozenset({vol.id}), lambda: world.get_volume(vol.id) is None


def _snapshot(world: World) -> Target:
    snap = world.snapshot(world.volume().id)
    return (
        delete_snapshot(snap.id),
        frozenset({snap.id}),
        lambda: world.get_snapshot(snap.id) is None,
    )


def _group(world: World) -> Target:
    group = world.group(members=1)
    return (
        delete_group(group.id),
        frozenset({group.id, *group.volume_ids}),
        lambda: world.get_group(group.id) is None and world.get_volume(group.volume_ids[0]) is None,
    )


def _group_snapshot(world: World) -> Target:
    gsnap = world.group_snapshot(world.group(members=1).id)
    return (
        delete_group_snapshot(gsnap.id),
        frozenset({gsnap.id, *gsnap.snapshot_ids}),
        lambda: world.get_group_snapshot(gsnap.id) is None,
    )


DELETABLE = {
    "volume": _volume,
    "snapshot": _snapshot,
    "group": _group,
    "group snapshot": _group_snapshot,
}


@pytest.mark.parametrize("kind", DELETABLE)
def test_delete_against_delete(world: World, racer: Racer, kind: str) -> None:
    for _ in range(TRIES):
        side, contested, is_gone = DELETABLE[kind](world)
        racer.race(
            side, side, Rules(a_first=(OK, NOT_FOUND), b_first=(NOT_FOUND, OK), contested=contested)
        )
        assert is_gone()
