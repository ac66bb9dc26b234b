"""Random sequences of group operations, with random backend faults, against the manager; the
state-machine invariants are checked after every step."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.model import (
    GroupStatus,
    SnapshotStatus,
    VolumeStatus,
)
from cohort.errors import BackendError, CohortError
from cohort.manager import Manager
from cohort.sim import FaultPlan, SimBackend
from cohort.store import SqlStore

MIB = 1024**2
CONSISTENT = {"consistent_group_snapshot_enabled": "<is> True"}
TRANSITIONAL = {"creating", "deleting", "updating", "extending"}
FAULTS = [
    {},
    {"create_group_snapshot": {"fail_member": 2}},
    {"create_group_snapshot": {"member_status": "error"}},
    {"create_group_from_src": {"raise": True}},
    {"create_group_from_src": {"member_status": "error"}},
    {"delete_group": {"member_status": "error_deleting"}},
    {"delete_group": {"raise": True}},
    {"delete_group_snapshot": {"member_updates": False}},
    {"update_group": {"raise": True}},
    {"create_volume": {"raise": True}},
]


class GroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = SqlStore.memory()
        self.sim = SimBackend(capacity_bytes=64 * 1024 * MIB)
        self.manager = Manager(self.store, self.sim, CapabilityPolicy(), host="h")
        self.manager.create_volume_type("fast", "", CONSISTENT)
        self.manager.create_volume_type("plain", "", {})
        self.manager.create_group_type("consistent", "", CONSISTENT)
        self.manager.create_group_type("generic", "", {})
        self.counter = 0

    def teardown(self) -> None:
        self.store.close()

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _try(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except BackendError as exc:
            assert str(exc)  # names the object
        except CohortError:
            pass

    def _ids(self, kind: str) -> list[str]:
        with self.store.transaction() as tx:
            return [o.id for o in getattr(tx, kind)]  # creation order: replays stay equal

    @rule(faults=st.sampled_from(FAULTS))
    def set_faults(self, faults: dict[str, dict[str, object]]) -> None:
        self.sim.set_faults(FaultPlan.parse(faults))

    @rule(consistent=st.booleans(), cg=st.booleans())
    def create_group(self, consistent: bool, cg: bool) -> None:
        gtype, vtype = ("consistent", "fast") if consistent else ("generic", "plain")
        self._try(self.manager.create_group, self._name("g"), "", gtype, [vtype], cg=cg)

    @rule(data=st.data(), grouped=st.booleans(), size=st.integers(1, 64))
    def create_volume(self, data: st.DataObject, grouped: bool, size: int) -> None:
        groups = self._ids("groups")
        group = data.draw(st.sampled_from(groups)) if grouped and groups else ""
        vtype = data.draw(st.sampled_from(["fast", "plain"]))
        self._try(self.manager.create_volume, self._name("v"), size * MIB, vtype, group=group)

    @rule(data=st.data())
    def update_group(self, data: st.DataObject) -> None:
        groups, volumes = self._ids("groups"), self._ids("volumes")
        if not groups or not volumes:
            return
        group = data.draw(st.sampled_from(groups))
        chosen = data.draw(st.lists(st.sampled_from(volumes), max_size=3, unique=True))
        split = data.draw(st.integers(0, len(chosen)))
        for flag in (False, True):
            self._try(
                self.manager.update_group,
                group,
                add_volume_ids=chosen[:split],
                remove_volume_ids=chosen[split:],
                cg=flag,
            )

    @rule(data=st.data())
    def create_group_snapshot(self, data: st.DataObject) -> None:
        groups = self._ids("groups")
        if groups:
            group = data.draw(st.sampled_from(groups))
            for flag in (False, True):
                self._try(self.manager.create_group_snapshot, group, self._name("gs"), cg=flag)

    @rule(data=st.data(), from_snapshot=st.booleans())
    def create_from_source(self, data: st.DataObject, from_snapshot: bool) -> None:
        sources = self._ids("group_snapshots" if from_snapshot else "groups")
        if not sources:
            return
        source = data.draw(st.sampled_from(sources))
        key = "group_snapshot" if from_snapshot else "source_group"
        for flag in (False, True):
            self._try(
                self.manager.create_group_from_source, self._name("c"), "", cg=flag, **{key: source}
            )

    @rule(data=st.data())
    def delete_group_snapshot(self, data: st.DataObject) -> None:
        gsnaps = self._ids("group_snapshots")
        if gsnaps:
            target = data.draw(st.sampled_from(gsnaps))
            for flag in (False, True):
                self._try(self.manager.delete_group_snapshot, target, cg=flag)

    @rule(data=st.data(), delete_volumes=st.booleans())
    def delete_group(self, data: st.DataObject, delete_volumes: bool) -> None:
        groups = self._ids("groups")
        if groups:
            target = data.draw(st.sampled_from(groups))
            for flag in (False, True):
                self._try(self.manager.delete_group, target, delete_volumes=delete_volumes, cg=flag)

    @rule(data=st.data())
    def delete_volume(self, data: st.DataObject) -> None:
        volumes = self._ids("volumes")
        if volumes:
            self._try(self.manager.delete_volume, data.draw(st.sampled_from(volumes)))

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def references_hold(self) -> None:
        with self.store.transaction() as tx:
            groups = {g.id: g for g in tx.groups}
            gsnaps = {g.id: g for g in tx.group_snapshots}
            volumes = {v.id: v for v in tx.volumes}
            vtypes = {t.id: t for t in tx.volume_types}
            for vol in volumes.values():
                assert vol.group_id is None or vol.group_id in groups
                if vol.group_id:
                    assert vol.volume_type_id in groups[vol.group_id].volume_type_ids
            for snap in tx.snapshots:
                assert snap.volume_id in volumes
                assert snap.group_snapshot_id is None or snap.group_snapshot_id in gsnaps
            for gsnap in gsnaps.values():
                assert gsnap.group_id in groups
            for group in groups.values():
                if group.consistent and group.group_type_id != self.manager.cg_type_id:
                    for tid in group.volume_type_ids:
                        assert vtypes[tid].extra_specs == CONSISTENT
            assert tx.operations.find() == []  # nothing left half-done

    @invariant()
    def no_transitional_status_after_a_call(self) -> None:
        with self.store.transaction() as tx:
            for kind in ("volumes", "snapshots", "groups", "group_snapshots"):
                for obj in getattr(tx, kind):
                    assert obj.status.value not in TRANSITIONAL, (kind, obj)

    @invariant()
    def pool_matches_store(self) -> None:
        """Whatever is available is in the pool; the pool holds nothing the store forgot."""
        with self.store.transaction() as tx:
            volumes = list(tx.volumes)
            snapshots = list(tx.snapshots)
        for vol in volumes:
            if vol.status in (VolumeStatus.AVAILABLE, VolumeStatus.IN_USE):
                assert self.sim.has_volume(vol.id), vol
        for snap in snapshots:
            if snap.status is SnapshotStatus.AVAILABLE:
                assert self.sim.has_snapshot(snap.id), snap
        assert self.sim.volume_ids() <= {v.id for v in volumes}
        assert self.sim.snapshot_ids() <= {s.id for s in snapshots}

    @invariant()
    def group_statuses_are_final(self) -> None:
        with self.store.transaction() as tx:
            for group in tx.groups:
                assert group.status in (
                    GroupStatus.AVAILABLE,
                    GroupStatus.ERROR,
                    GroupStatus.ERROR_DELETING,
                )


GroupMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_group_state_machine = GroupMachine.TestCase
