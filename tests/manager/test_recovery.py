"""The journal: a crash injected at each step of each multi-step operation is resolved at the
next start. Creates roll back (nothing left in the pool, objects in error); deletes roll forward."""

from __future__ import annotations

import pytest

from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.model import GroupStatus, SnapshotStatus, VolumeStatus
from cohort.manager import Manager
from cohort.sim import FaultPlan, SimBackend, SimulatedCrash
from cohort.store import SqlStore

MIB = 1024**2
CONSISTENT = {"consistent_group_snapshot_enabled": "<is> True"}


def restart(store: SqlStore, sim: SimBackend) -> Manager:
    sim.set_faults(FaultPlan())
    manager = Manager(store, sim, CapabilityPolicy(), host="test-host")
    manager.recover()
    with store.transaction() as tx:
        assert tx.operations.find() == []
    return manager


def populated(manager: Manager, members: int = 3) -> str:
    manager.create_volume_type("fast", "", CONSISTENT)
    manager.create_group_type("consistent", "", CONSISTENT)
    group = manager.create_group("g", "", "consistent", ["fast"])
    for i in range(members):
        manager.create_volume(f"v{i}", 8 * MIB, "fast", group="g")
    return group.id


def crash(sim: SimBackend, method: str, step: int) -> None:
    sim.set_faults(FaultPlan.parse({method: {"crash_at_step": step}}))


@pytest.mark.parametrize("step", [1, 2, 3])
def test_crash_in_group_snapshot_rolls_back(
    manager: Manager, store: SqlStore, sim: SimBackend, step: int
) -> None:
    group_id = populated(manager)
    crash(sim, "create_group_snapshot", step)
    with pytest.raises(SimulatedCrash):
        manager.create_group_snapshot(group_id, "gs")
    assert len(sim.snapshot_ids()) == step  # the crash left snapshots behind
    after = restart(store, sim)
    assert sim.snapshot_ids() == set()
    gs = after.get_group_snapshot("gs")
    assert gs.status is SnapshotStatus.ERROR
    snaps = after.list_snapshots(0, "", group_snapshot_id=gs.id).items
    assert {s.status for s in snaps} == {SnapshotStatus.ERROR}
    after.delete_group_snapshot(gs.id)
    after.create_group_snapshot(group_id, "gs")  # the name is free again, the group usable


@pytest.mark.parametrize("step", [1, 2, 3, 4])
@pytest.mark.parametrize("source", ["group", "group_snapshot"])
def test_crash_in_create_from_source_rolls_back(
    manager: Manager, store: SqlStore, sim: SimBackend, step: int, source: str
) -> None:
    group_id = populated(manager)
    gs = manager.create_group_snapshot(group_id, "gs")
    volumes_before = sim.volume_ids()
    crash(sim, "create_group_from_src", step)
    with pytest.raises(SimulatedCrash):
        if source == "group":
            manager.create_group_from_source("copy", "", source_group=group_id)
        else:
            manager.create_group_from_source("copy", "", group_snapshot=gs.id)
    after = restart(store, sim)
    assert sim.volume_ids() == volumes_before
    copy = after.get_group("copy")
    assert copy.status is GroupStatus.ERROR
    members = after.list_volumes(0, "", group=copy.id).items
    assert len(members) == 3 and {v.status for v in members} == {VolumeStatus.ERROR}
    after.delete_group(copy.id, delete_volumes=True)
    assert sim.volume_ids() == volumes_before


@pytest.mark.parametrize("step", [1, 2, 3])
def test_crash_in_delete_group_rolls_forward(
    manager: Manager, store: SqlStore, sim: SimBackend, step: int
) -> None:
    group_id = populated(manager)
    crash(sim, "delete_group", step)
    with pytest.raises(SimulatedCrash):
        manager.delete_group(group_id, delete_volumes=True)
    after = restart(store, sim)
    assert sim.volume_ids() == set()
    assert after.list_groups(0, "").items == []
    assert after.list_volumes(0, "").items == []


@pytest.mark.parametrize("step", [1, 2, 3])
def test_crash_in_delete_group_snapshot_rolls_forward(
    manager: Manager, store: SqlStore, sim: SimBackend, step: int
) -> None:
    group_id = populated(manager)
    gs = manager.create_group_snapshot(group_id, "gs")
    crash(sim, "delete_group_snapshot", step)
    with pytest.raises(SimulatedCrash):
        manager.delete_group_snapshot(gs.id)
    after = restart(store, sim)
    assert sim.snapshot_ids() == set()
    assert after.list_group_snapshots(0, "").items == []
    assert after.list_snapshots(0, "").items == []


def test_single_object_calls_cut_off_are_settled(
    manager: Manager, store: SqlStore, sim: SimBackend
) -> None:
    manager.create_volume_type("fast", "", {})
    creating = manager.create_volume("half-made", 8 * MIB, "fast")
    deleting = manager.create_volume("half-deleted", 8 * MIB, "fast")
    with store.transaction() as tx:  # as if the process died inside those calls
        creating.status = VolumeStatus.CREATING
        tx.volumes.update(creating)
        deleting.status = VolumeStatus.DELETING
        tx.volumes.update(deleting)
    after = restart(store, sim)
    assert after.get_volume(creating.id).status is VolumeStatus.ERROR
    assert not sim.has_volume(creating.id)  # nothing half-made stays in the pool
    assert [v.id for v in after.list_volumes(0, "").items] == [creating.id]
    assert not sim.has_volume(deleting.id)


def test_reconcile_against_the_backend_inventory(
    manager: Manager, store: SqlStore, sim: SimBackend
) -> None:
    manager.create_volume_type("fast", "", {})
    lost = manager.create_volume("lost", 8 * MIB, "fast")
    kept = manager.create_volume("kept", 8 * MIB, "fast")
    snap = manager.create_snapshot(kept.id, "snap")
    sim.delete_snapshot(snap)  # the backing vanishes behind cohort's back
    sim.delete_volume(lost)
    with store.transaction() as tx:  # and the store forgets a volume the pool still holds
        tx.volumes.remove(kept.id)
        tx.snapshots.remove(snap.id)
    orphan = manager.create_volume("orphan", 8 * MIB, "fast")
    with store.transaction() as tx:
        tx.volumes.remove(orphan.id)
    after = restart(store, sim)
    assert after.get_volume(lost.id).status is VolumeStatus.ERROR
    assert after.reconcile() == {kept.id: "volume", orphan.id: "volume"}
    assert sim.has_volume(orphan.id)  # reported, never deleted: it may hold data
