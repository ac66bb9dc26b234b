"""`SimGroups`: the group operations of the simulated pool.

The group methods record their per-member steps in the journal (`StepRecorder.run_batch`), one
step per object made or deleted, all in one batch, and `revert` undoes a creation step
idempotently. The backend never
cleans up after a failure itself: it raises, and the manager rolls back through the journal.

A group snapshot holds the pool's lock across all its members, so it is write-order consistent
(no `write` can fall between two members' snapshots). A consistent one (and a consistent clone of
a group) also runs the freeze protocol over in-process gates and guard (`cohort.freeze.fakes`),
so the manager sees the same freeze record as from the LVM backend; a plain one records the
plain path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from cohort.domain.backend import (
    GroupResult,
    MemberUpdate,
    ModelUpdate,
    Step,
    StepRecorder,
    UpdateGroupResult,
)
from cohort.domain.model import (
    FreezePath,
    FreezeRecord,
    Group,
    GroupSnapshot,
    GroupStatus,
    Snapshot,
    SnapshotStatus,
    Volume,
    VolumeStatus,
)
from cohort.errors import BackendError, FailedPrecondition
from cohort.sim.faults import MethodFaults, SimulatedCrash
from cohort.sim.pool import SimPool, device_path

T = TypeVar("T")

#: Journal step actions. Creations are undone by `revert`; deletions are not undoable (deletes
#: roll forward: re-running the delete is idempotent), so reverting them does nothing.
ACTION_CREATE_VOLUME = "sim.create_volume"
ACTION_CREATE_SNAPSHOT = "sim.create_snapshot"
ACTION_CREATE_GROUP = "sim.create_group"
ACTION_DELETE_VOLUME = "sim.delete_volume"
ACTION_DELETE_SNAPSHOT = "sim.delete_snapshot"


@dataclass(frozen=True, slots=True)
class _Work:
    """One step of a group call: what the journal records and what the pool does for it."""

    step: Step
    do: Callable[[], object]
    """Runs under the pool's lock; the batch collects chunks and saves the state once after."""
    member: int | None
    """The member's 1-based number for the `fail_member` knob; None for the group's own step."""
    what: str
    gate: str | None = None
    """The volume whose gate a freeze suspends for this step (None: outside the freeze)."""


class SimGroups(SimPool):
    """The simulated pool with seed 003's group methods."""

    def create_group(self, group: Group) -> ModelUpdate | None:
        faults = self._faults_for("create_group")
        with self._changing():
            self._groups.add(group.id)
        return _model(faults, GroupStatus.AVAILABLE)

    def update_group(
        self, group: Group, add_volumes: Sequence[Volume], remove_volumes: Sequence[Volume]
    ) -> UpdateGroupResult:
        faults = self._faults_for("update_group")
        with self._lock:
            for number, volume in enumerate([*add_volumes, *remove_volumes], start=1):
                if faults.fail_member == number:
                    raise faults.failure(
                        f"simulated failure in update_group on member #{number}: volume {volume.id}"
                    )
            for volume in add_volumes:
                if volume.id not in self._volumes:
                    raise BackendError(
                        f"volume {volume.id} does not exist in pool {self.pool_name}; "
                        f"cannot add it to group {group.id}"
                    )
        if not faults.member_updates:
            return _model(faults, GroupStatus.AVAILABLE), None, None
        added = _members(faults, [v.id for v in add_volumes], None)
        removed = _members(faults, [v.id for v in remove_volumes], None)
        return _model(faults, GroupStatus.AVAILABLE), added, removed

    def delete_group(
        self, group: Group, volumes: Sequence[Volume], journal: StepRecorder
    ) -> GroupResult:
        faults = self._faults_for("delete_group")
        works = [
            _Work(
                Step(ACTION_DELETE_VOLUME, {"volume_id": v.id}),
                partial(self._volumes.pop, v.id, None),
                number,
                f"volume {v.id}",
            )
            for number, v in enumerate(volumes, start=1)
        ]
        self._run_batch(journal, faults, "delete_group", works)
        with self._changing():
            self._groups.discard(group.id)
        return _result(faults, GroupStatus.DELETED, [v.id for v in volumes], VolumeStatus.DELETED)

    def create_group_from_src(
        self,
        group: Group,
        volumes: Sequence[Volume],
        journal: StepRecorder,
        group_snapshot: GroupSnapshot | None = None,
        snapshots: Sequence[Snapshot] | None = None,
        source_group: Group | None = None,
        source_vols: Sequence[Volume] | None = None,
    ) -> GroupResult:
        faults = self._faults_for("create_group_from_src")
        if (group_snapshot is None) == (source_group is None):
            raise BackendError(
                f"group {group.id}: exactly one of a group snapshot or a source group is needed"
            )
        if group.consistent and source_group is not None:
            self._check_consistent(f"group {group.id} (a consistent clone of a group)")
        works = [
            _Work(
                Step(ACTION_CREATE_GROUP, {"group_id": group.id}),
                partial(self._groups.add, group.id),
                None,
                f"group {group.id}",
            ),
            *(
                _Work(
                    Step(ACTION_CREATE_VOLUME, {"volume_id": v.id}),
                    partial(self._volume_from_source, v),
                    number,
                    f"volume {v.id}",
                    v.source_volume_id,
                )
                for number, v in enumerate(volumes, start=1)
            ),
        ]
        subject = group.id if group.consistent and source_group is not None else None
        record = self._run_batch(journal, faults, "create_group_from_src", works, subject)
        updates = [
            MemberUpdate(id=v.id, status=VolumeStatus.AVAILABLE, device_path=device_path(v.id))
            for v in volumes
        ]
        model = _model(faults, GroupStatus.AVAILABLE)
        if source_group is not None:
            model = _with_freeze(model, record)
        return model, _member_list(faults, updates)

    def create_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        faults = self._faults_for("create_group_snapshot")
        if group_snapshot.consistent:
            self._check_consistent(f"group snapshot {group_snapshot.id}")
        works = [
            _Work(
                Step(ACTION_CREATE_SNAPSHOT, {"snapshot_id": s.id}),
                partial(self._make_snapshot, s.id, s.volume_id),
                number,
                f"snapshot {s.id} of volume {s.volume_id}",
                s.volume_id,
            )
            for number, s in enumerate(snapshots, start=1)
        ]
        subject = group_snapshot.id if group_snapshot.consistent else None
        record = self._run_batch(journal, faults, "create_group_snapshot", works, subject)
        model, members = _result(
            faults, SnapshotStatus.AVAILABLE, [s.id for s in snapshots], SnapshotStatus.AVAILABLE
        )
        return _with_freeze(model, record), members

    def delete_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        faults = self._faults_for("delete_group_snapshot")
        works = [
            _Work(
                Step(ACTION_DELETE_SNAPSHOT, {"snapshot_id": s.id}),
                partial(self._snapshots.pop, s.id, None),
                number,
                f"snapshot {s.id}",
            )
            for number, s in enumerate(snapshots, start=1)
        ]
        self._run_batch(journal, faults, "delete_group_snapshot", works)
        return _result(
            faults, SnapshotStatus.DELETED, [s.id for s in snapshots], SnapshotStatus.DELETED
        )

    def _run_batch(
        self,
        journal: StepRecorder,
        faults: MethodFaults,
        method: str,
        works: Sequence[_Work],
        freeze_subject: str | None = None,
    ) -> FreezeRecord:
        """Record every step in one journal batch, then do them all under the lock (so a group
        snapshot is write-order consistent, and the clones of a source group are taken at one
        instant), applying the `fail_member` and `crash_at_step` knobs. With a freeze subject,
        the members' steps run under the freeze protocol, their gates frozen."""

        def one(number: int, work: _Work) -> None:
            if work.member is not None and faults.fail_member == work.member:
                raise faults.failure(
                    f"simulated failure in {method} on member #{work.member}: {work.what}"
                )
            work.do()
            if faults.crash_at_step == number:
                raise SimulatedCrash(f"simulated crash in {method} after step #{number}")

        def run() -> FreezeRecord:
            with self._changing():
                try:
                    numbered = list(enumerate(works, start=1))
                    if freeze_subject is None:
                        for number, work in numbered:
                            one(number, work)
                        return FreezeRecord(FreezePath.PLAIN)
                    frozen = {w.gate: (n, w) for n, w in numbered if w.gate is not None}
                    for number, work in numbered:
                        if work.gate is None:
                            one(number, work)
                    return self.freezer.run(
                        freeze_subject, list(frozen), lambda gate: one(*frozen[gate])
                    )
                finally:
                    self._collect()

        return journal.run_batch([w.step for w in works], run)

    # -- Backend: the journal ---------------------------------------------------------------
    def revert(self, step: Step) -> None:
        """Undo a creation step (idempotent: the object may never have been made). Deletion
        steps cannot be undone and need not be: reverting them does nothing."""
        if step.action in (ACTION_DELETE_VOLUME, ACTION_DELETE_SNAPSHOT):
            return
        targets: dict[str, tuple[str, Callable[[str], None]]] = {
            ACTION_CREATE_VOLUME: ("volume_id", lambda i: self._remove(self._volumes, i)),
            ACTION_CREATE_SNAPSHOT: ("snapshot_id", lambda i: self._remove(self._snapshots, i)),
            ACTION_CREATE_GROUP: ("group_id", self._remove_group),
        }
        if step.action not in targets:
            raise BackendError(f"the simulated backend cannot revert step {step.action!r}")
        param, undo = targets[step.action]
        object_id = step.params.get(param)
        if not object_id:
            raise BackendError(f"step {step.action} lacks its parameter {param!r}")
        undo(object_id)

    # -- internals (callers hold the lock) --------------------------------------------------
    def _check_consistent(self, what: str) -> None:
        """A consistent group snapshot (or clone of a group) on a pool that cannot take one is
        refused before anything is recorded: FailedPrecondition, as on every backend."""
        if not self.consistent_group_snapshot:
            raise FailedPrecondition(
                f"{what}: pool {self.pool_name} does not support consistent group snapshots"
            )

    def _volume_from_source(self, volume: Volume) -> None:
        if volume.source_snapshot_id:
            self._volume_from_snapshot(volume, volume.source_snapshot_id)
        elif volume.source_volume_id:
            self._clone_volume(volume, volume.source_volume_id)
        else:
            raise BackendError(f"volume {volume.id} names no source snapshot or volume")

    def _remove_group(self, group_id: str) -> None:
        with self._changing():
            self._groups.discard(group_id)


# -- building the answers -------------------------------------------------------------------
def _model(faults: MethodFaults, status: str) -> ModelUpdate | None:
    if not faults.model_update:
        return None
    return ModelUpdate(status=faults.model_status or status)


def _members(faults: MethodFaults, ids: Sequence[str], status: str | None) -> list[MemberUpdate]:
    return _member_list(faults, [MemberUpdate(id=i, status=status) for i in ids]) or []


def _member_list(faults: MethodFaults, updates: list[MemberUpdate]) -> list[MemberUpdate] | None:
    if not faults.member_updates:
        return None
    if updates and faults.member_status is not None:
        first = updates[0]
        updates[0] = MemberUpdate(
            id=first.id, status=faults.member_status, device_path=first.device_path
        )
    return updates


def _with_freeze(model: ModelUpdate | None, record: FreezeRecord) -> ModelUpdate | None:
    return None if model is None else ModelUpdate(status=model.status, freeze=record)


def _result(
    faults: MethodFaults, model_status: str, member_ids: Sequence[str], member_status: str
) -> GroupResult:
    members = [MemberUpdate(id=i, status=member_status) for i in member_ids]
    return _model(faults, model_status), _member_list(faults, members)
