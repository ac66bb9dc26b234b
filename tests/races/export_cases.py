"""The exports' rows of the reservation table, held (tests/races/test_conflict_table.py runs
them): an export or unexport holds its volume or snapshot EXCLUSIVE, so it conflicts with the
object's delete and extend, with a change of its group's membership, and with a group snapshot
(which holds the group's volumes SHARED) or a group snapshot's delete (its snapshots EXCLUSIVE).
An export is held in the target's publish, an unexport of the last access in its withdraw."""

from __future__ import annotations

from collections.abc import Callable

from tests.exported import INITIATORS
from tests.races.held import Case
from tests.races.race import Side
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

HOST_A, HOST_B = INITIATORS[:2]
PUBLISH = "targets.publish"
WITHDRAW = "targets.withdraw"


def _export_then(contender: Callable[[str], Side]) -> Callable[[World], Case]:
    """An export of a volume held; then `contender(volume id)`, BUSY on the volume."""

    def case(w: World) -> Case:
        vol = w.volume().id
        return Case(export_volume(vol, HOST_A), PUBLISH, contender(vol), frozenset({vol}))

    return case


def _then_export(holder: Callable[[str], Side], method: str) -> Callable[[World], Case]:
    """`holder(volume id)` held in the sim's `method`; then an export of it, BUSY."""

    def case(w: World) -> Case:
        vol = w.volume().id
        return Case(holder(vol), method, export_volume(vol, HOST_A), frozenset({vol}))

    return case


def _unexport_then_delete(w: World) -> Case:
    vol = w.volume().id
    export_volume(vol, HOST_A).call(w.daemon)
    return Case(unexport(vol), WITHDRAW, delete_volume(vol), frozenset({vol}))


def _member(on: str) -> Callable[[World], Case]:
    """A group's member exported while the group is snapshotted or the member removed, held
    either way round ("<holder> <contender>")."""

    def case(w: World) -> Case:
        group = w.group(members=2)
        vol = group.volume_ids[0]
        export = export_volume(vol, HOST_A)
        other = {
            "snapshot": (create_group_snapshot(group.id, w.name("gs")), "create_group_snapshot"),
            "remove": (update_group(group.id, remove=[vol]), "update_group"),
        }
        holder_kind, _, contender_kind = on.partition(" ")
        if holder_kind == "export":
            return Case(export, PUBLISH, other[contender_kind][0], frozenset({vol}))
        side, method = other[holder_kind]
        return Case(side, method, export, frozenset({vol}))

    return case


def _snapshot(holder_exports: bool) -> Callable[[World], Case]:
    """A snapshot's export held, then its delete; or the other way round."""

    def case(w: World) -> Case:
        snap = w.snapshot(w.volume().id).id
        export, delete = export_snapshot(snap, HOST_A), delete_snapshot(snap)
        if holder_exports:
            return Case(export, PUBLISH, delete, frozenset({snap}))
        return Case(delete, "delete_snapshot", export, frozenset({snap}))

    return case


def _group_snapshot_member(holder_exports: bool) -> Callable[[World], Case]:
    """A group snapshot's member exported while the group snapshot is deleted, either way."""

    def case(w: World) -> Case:
        gsnap = w.group_snapshot(w.group(members=2).id)
        member = gsnap.snapshot_ids[0]
        export, delete = export_snapshot(member, HOST_A), delete_group_snapshot(gsnap.id)
        if holder_exports:
            return Case(export, PUBLISH, delete, frozenset({gsnap.id, member}))
        return Case(delete, "delete_group_snapshot", export, frozenset({member}))

    return case


def _two_initiators(w: World) -> Case:
    vol = w.volume().id
    return Case(export_volume(vol, HOST_A), PUBLISH, export_volume(vol, HOST_B), frozenset({vol}))


EXPORT_CASES: dict[str, Callable[[World], Case]] = {
    "export, then delete the volume": _export_then(delete_volume),
    "export, then extend": _export_then(lambda v: extend_volume(v, 2 * SIZE)),
    "delete the volume, then export": _then_export(delete_volume, "delete_volume"),
    "extend, then export": _then_export(lambda v: extend_volume(v, 2 * SIZE), "extend_volume"),
    "unexport, then delete the volume": _unexport_then_delete,
    "export a member, then group snapshot": _member("export snapshot"),
    "group snapshot, then export a member": _member("snapshot export"),
    "export a member, then remove it from the group": _member("export remove"),
    "remove from the group, then export": _member("remove export"),
    "export a snapshot, then delete it": _snapshot(holder_exports=True),
    "delete a snapshot, then export it": _snapshot(holder_exports=False),
    "export a group snapshot's member, then delete it": _group_snapshot_member(True),
    "delete a group snapshot, then export a member": _group_snapshot_member(False),
    "export from two initiators": _two_initiators,
}
