"""The reservation table, deterministically: one call is held inside its backend method (so it
holds everything it reserved) while another runs. A conflicting call is BUSY, naming the object
and the holder's operation; a compatible one (shared with shared, or disjoint) proceeds; an
identical create waits and gets the one object. The held call then completes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.answers import busy_problems
from tests.races.export_cases import EXPORT_CASES
from tests.races.held import Case, while_held
from tests.races.race import Racer, Side
from tests.races.sides import (
    create_group_from_source,
    create_group_snapshot,
    create_snapshot,
    create_volume,
    delete_group,
    delete_group_snapshot,
    delete_volume,
    extend_volume,
    update_group,
)
from tests.races.world import SIZE, World


def _two_groups_one_volume(w: World) -> Case:
    g1, g2, vol = w.group(), w.group(), w.volume()
    add = update_group(g1.id, add=[vol.id])
    return Case(add, "update_group", update_group(g2.id, add=[vol.id]), frozenset({vol.id}))


def _add_then_delete(w: World) -> Case:
    group, vol = w.group(), w.volume()
    add = update_group(group.id, add=[vol.id])
    return Case(add, "update_group", delete_volume(vol.id), frozenset({vol.id}))


def _delete_then_add(w: World) -> Case:
    group, vol = w.group(), w.volume()
    add = update_group(group.id, add=[vol.id])
    return Case(delete_volume(vol.id), "delete_volume", add, frozenset({vol.id}))


def _extend_then_add(w: World) -> Case:
    group, vol = w.group(), w.volume()
    add = update_group(group.id, add=[vol.id])
    return Case(extend_volume(vol.id, 2 * SIZE), "extend_volume", add, frozenset({vol.id}))


def _remove_then_extend(w: World) -> Case:
    group = w.group(members=1)
    vol = group.volume_ids[0]
    remove = update_group(group.id, remove=[vol])
    return Case(remove, "update_group", extend_volume(vol, 2 * SIZE), frozenset({vol}))


def _extend_then_group_snapshot(w: World) -> Case:
    group = w.group(members=2)
    vol = group.volume_ids[0]
    snap = create_group_snapshot(group.id, w.name("gs"))
    return Case(extend_volume(vol, 2 * SIZE), "extend_volume", snap, frozenset({vol}))


def _group_snapshot_then(
    contender: Callable[[World, str, str], Side], on: str
) -> Callable[..., Case]:
    """A group snapshot held; `contender(world, group id, first member id)`; BUSY on the group
    ("group"), on the member ("member"), or proceeding ("")."""

    def case(w: World) -> Case:
        group = w.group(members=2)
        member = group.volume_ids[0]
        busy_on = {"group": {group.id}, "member": {member}, "": set()}[on]
        holder = create_group_snapshot(group.id, w.name("gs"))
        return Case(
            holder, "create_group_snapshot", contender(w, group.id, member), frozenset(busy_on)
        )

    return case


def _clone_group_then_extend(w: World) -> Case:
    group = w.group(members=2)
    vol = group.volume_ids[0]
    clone = create_group_from_source(w.name("clone"), source_group_id=group.id)
    return Case(clone, "create_group_from_src", extend_volume(vol, 2 * SIZE), frozenset({vol}))


def _create_into_group_then(busy: bool) -> Callable[[World], Case]:
    """A create into a group held; then a group snapshot of it (BUSY) or another create into it
    (shared with shared: proceeds)."""

    def case(w: World) -> Case:
        group = w.group(members=1)
        holder = create_volume(w.name("v"), group_id=group.id)
        if busy:
            return Case(
                holder,
                "create_volume",
                create_group_snapshot(group.id, w.name("gs")),
                frozenset({group.id}),
            )
        return Case(holder, "create_volume", create_volume(w.name("v"), group_id=group.id))

    return case


def _delete_group_then_describe(w: World) -> Case:
    group = w.group(members=1)
    describe = update_group(group.id, description="changed")
    return Case(delete_group(group.id), "delete_group", describe, frozenset({group.id}))


def _add_then_delete_group(w: World) -> Case:
    group, vol = w.group(members=1), w.volume()
    add = update_group(group.id, add=[vol.id])
    busy_on = frozenset({group.id, vol.id, *group.volume_ids})
    return Case(add, "update_group", delete_group(group.id), busy_on)


def _clone_then_delete_source(w: World) -> Case:
    vol = w.volume()
    clone = create_volume(w.name("v"), volume_id=vol.id)
    return Case(clone, "create_cloned_volume", delete_volume(vol.id), frozenset({vol.id}))


def _delete_source_then_clone(w: World) -> Case:
    vol = w.volume()
    clone = create_volume(w.name("v"), volume_id=vol.id)
    return Case(delete_volume(vol.id), "delete_volume", clone, frozenset({vol.id}))


def _clone_then_snapshot(w: World) -> Case:
    vol = w.volume()
    clone = create_volume(w.name("v"), volume_id=vol.id)
    return Case(clone, "create_cloned_volume", create_snapshot(vol.id, w.name("s")))


def _group_snapshot_source(holder_deletes: bool) -> Callable[[World], Case]:
    """A group snapshot's delete held, then a group created from it, or the other way round."""

    def case(w: World) -> Case:
        gsnap = w.group_snapshot(w.group(members=2).id)
        busy_on = frozenset({gsnap.id, *gsnap.snapshot_ids})
        delete = delete_group_snapshot(gsnap.id)
        make = create_group_from_source(w.name("from"), group_snapshot_id=gsnap.id)
        if holder_deletes:
            return Case(delete, "delete_group_snapshot", make, busy_on)
        return Case(make, "create_group_from_src", delete, busy_on)

    return case


def _snapshot_then_delete_volume(w: World) -> Case:
    vol = w.volume()
    snap = create_snapshot(vol.id, w.name("s"))
    return Case(snap, "create_snapshot", delete_volume(vol.id), frozenset({vol.id}))


def _delete_then_delete(w: World) -> Case:
    vol = w.volume()
    return Case(delete_volume(vol.id), "delete_volume", delete_volume(vol.id), frozenset({vol.id}))


def _extend_elsewhere(w: World, group_id: str, member: str) -> Side:
    return extend_volume(w.volume().id, 2 * SIZE)


CASES: dict[str, Callable[[World], Case]] = {
    "add to two groups": _two_groups_one_volume,
    "add, then delete the volume": _add_then_delete,
    "delete the volume, then add": _delete_then_add,
    "extend, then add": _extend_then_add,
    "remove, then extend": _remove_then_extend,
    "extend, then group snapshot": _extend_then_group_snapshot,
    "group snapshot, then extend a member": _group_snapshot_then(
        lambda w, g, m: extend_volume(m, 2 * SIZE), "member"
    ),
    "group snapshot, then another": _group_snapshot_then(
        lambda w, g, m: create_group_snapshot(g, w.name("gs")), "group"
    ),
    "group snapshot, then create into the group": _group_snapshot_then(
        lambda w, g, m: create_volume(w.name("v"), group_id=g), "group"
    ),
    "group snapshot, then add to the group": _group_snapshot_then(
        lambda w, g, m: update_group(g, add=[w.volume().id]), "group"
    ),
    "group snapshot, then describe the group": _group_snapshot_then(
        lambda w, g, m: update_group(g, description="changed"), "group"
    ),
    "group clone, then extend a member": _clone_group_then_extend,
    "create into a group, then group snapshot": _create_into_group_then(busy=True),
    "delete group, then describe it": _delete_group_then_describe,
    "add, then delete the group": _add_then_delete_group,
    "clone, then delete the source": _clone_then_delete_source,
    "delete the source, then clone": _delete_source_then_clone,
    "delete group snapshot, then create from it": _group_snapshot_source(holder_deletes=True),
    "create from group snapshot, then delete it": _group_snapshot_source(holder_deletes=False),
    "snapshot, then delete the volume": _snapshot_then_delete_volume,
    "delete, then delete": _delete_then_delete,
    # shared with shared, or nothing in common: these proceed
    "group snapshot, then clone a member": _group_snapshot_then(
        lambda w, g, m: create_volume(w.name("v"), volume_id=m), ""
    ),
    "group snapshot, then snapshot a member": _group_snapshot_then(
        lambda w, g, m: create_snapshot(m, w.name("s")), ""
    ),
    "group snapshot, then extend another volume": _group_snapshot_then(_extend_elsewhere, ""),
    "create into a group, then another into it": _create_into_group_then(busy=False),
    "clone, then snapshot the source": _clone_then_snapshot,
    **EXPORT_CASES,
}


@pytest.mark.parametrize("name", CASES)
def test_reservations(world: World, racer: Racer, name: str) -> None:
    case = CASES[name](world)
    held, contender = while_held(racer, case.holder, case.method, case.contender)
    if case.busy_on:
        problems = busy_problems(contender, set(case.busy_on), {case.holder.operation})
        assert not problems, f"{case.contender.operation}: {problems}"
    else:
        assert contender.ok, f"{case.contender.operation}: {contender}"
    assert held.ok, f"{case.holder.operation} (held): {held}"
    assert not world.problems()
