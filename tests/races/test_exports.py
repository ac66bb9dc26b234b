"""Races of exports against what conflicts with them, in either order: each pair ends in one of
its documented outcomes, and the store and the target agree after every try (World.problems
checks tests.exported's invariant)."""

from __future__ import annotations

import grpc

from cohort.v1 import exports_pb2 as e_pb
from tests.answers import BUSY, OK, busy_problems
from tests.exported import INITIATORS, memory_targets
from tests.races.export_cases import EXPORT_CASES
from tests.races.held import while_held
from tests.races.race import TRIES, Racer, Rules, either_order
from tests.races.sides import (
    create_group_snapshot,
    delete_group_snapshot,
    delete_snapshot,
    delete_volume,
    export_snapshot,
    export_volume,
    extend_volume,
    unexport,
    update_group,
)
from tests.races.world import SIZE, World

FAILED = grpc.StatusCode.FAILED_PRECONDITION
NOT_FOUND = grpc.StatusCode.NOT_FOUND
HOST_A, HOST_B = INITIATORS[:2]


def accesses(world: World, object_id: str) -> list[str]:
    request = e_pb.ListExportsRequest(object_id=object_id)
    listed = world.daemon.exports.ListExports(request).exports
    return sorted(a.initiator for e in listed for a in e.accesses)


def test_export_against_delete_of_the_volume(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        vol = world.volume().id
        out = racer.race(
            export_volume(vol, HOST_A),
            delete_volume(vol),
            Rules(a_first=(OK, FAILED), b_first=(NOT_FOUND, OK), contested=frozenset({vol})),
        )
        assert (world.get_volume(vol) is None) == out.b.ok
        assert accesses(world, vol) == ([HOST_A] if out.a.ok else [])


def test_unexport_against_delete_of_the_volume(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        vol = world.volume().id
        export_volume(vol, HOST_A).call(world.daemon)
        out = racer.race(
            unexport(vol),
            delete_volume(vol),
            Rules(a_first=(OK, OK), b_first=(OK, FAILED), contested=frozenset({vol})),
        )
        assert (world.get_volume(vol) is None) == out.b.ok
        assert accesses(world, vol) == ([] if out.a.ok else [HOST_A])


def test_export_against_extend(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        vol = world.volume().id
        out = racer.race(
            export_volume(vol, HOST_A), extend_volume(vol, 2 * SIZE), either_order({vol})
        )
        got = world.get_volume(vol)
        assert got is not None and got.size_bytes == (2 * SIZE if out.b.ok else SIZE)
        assert accesses(world, vol) == ([HOST_A] if out.a.ok else [])


def test_export_of_a_member_against_group_snapshot_and_removal(world: World, racer: Racer) -> None:
    for n in range(TRIES):
        group = world.group(members=2)
        vol = group.volume_ids[0]
        if n % 2:
            other = update_group(group.id, remove=[vol])
        else:
            other = create_group_snapshot(group.id, world.name("gs"))
        out = racer.race(export_volume(vol, HOST_A), other, either_order({vol}))
        assert accesses(world, vol) == ([HOST_A] if out.a.ok else [])


def test_export_from_two_initiators(world: World, racer: Racer) -> None:
    for _ in range(TRIES):
        vol = world.volume().id
        out = racer.race(
            export_volume(vol, HOST_A), export_volume(vol, HOST_B), either_order({vol})
        )
        for side, answered in (
            (export_volume(vol, HOST_A), out.a),
            (export_volume(vol, HOST_B), out.b),
        ):
            if answered.code is BUSY:
                side.call(world.daemon)  # the retry
        assert accesses(world, vol) == [HOST_A, HOST_B]
        assert not world.problems()


def test_a_busy_second_initiator_succeeds_on_retry(world: World, racer: Racer) -> None:
    """Held: the second initiator's export is BUSY; its retry succeeds; both may log in to one
    target with their own credentials."""
    case = EXPORT_CASES["export from two initiators"](world)
    held, contender = while_held(racer, case.holder, case.method, case.contender)
    assert not busy_problems(contender, set(case.busy_on), {"ExportVolume"})
    retried = case.contender.call(world.daemon)
    (vol,) = case.busy_on
    assert accesses(world, vol) == [HOST_A, HOST_B]
    a, b = held.reply.data, retried.data
    assert a.target_iqn == b.target_iqn and a.auth_password != b.auth_password
    lio = memory_targets(world.daemon.manager)
    assert lio.login(a.target_iqn, HOST_A, a.auth_username, a.auth_password)
    assert lio.login(b.target_iqn, HOST_B, b.auth_username, b.auth_password)
    assert [i for i in lio.targets if vol in i] == [a.target_iqn]
    assert not world.problems()


def test_snapshot_export_against_its_deletes(world: World, racer: Racer) -> None:
    """Against the snapshot's delete, and against its group snapshot's delete."""
    for n in range(TRIES):
        if n % 2:
            gsnap = world.group_snapshot(world.group(members=1).id)
            snap, contested = gsnap.snapshot_ids[0], {gsnap.snapshot_ids[0], gsnap.id}
            delete = delete_group_snapshot(gsnap.id)
        else:
            snap = world.snapshot(world.volume().id).id
            contested, delete = {snap}, delete_snapshot(snap)
        out = racer.race(
            export_snapshot(snap, HOST_A),
            delete,
            Rules(a_first=(OK, FAILED), b_first=(NOT_FOUND, OK), contested=frozenset(contested)),
        )
        assert (world.get_snapshot(snap) is None) == out.b.ok
        assert accesses(world, snap) == ([HOST_A] if out.a.ok else [])
