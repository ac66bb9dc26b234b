"""Resolving what a crash left behind, at start-up, before the server accepts calls.

1. Operations still in the journal: creates are rolled back (recorded steps reverted, newest
   first) and their objects end in `error`, as if the driver had raised; deletes roll forward
   (the backend delete is re-run; it is idempotent) and end as the seeds' table says.
2. Objects still in a transitional status with no operation behind them (a single-object call
   cut off mid-way): a half-made create is removed from the backend and left in `error`, a delete
   is completed, anything else ends in `error` (visible, deletable).
3. The store against the backend's inventory: an object whose backing vanished goes to `error`;
   backing the store does not know is reported (logged, never deleted: it may hold data).
"""

from __future__ import annotations

import structlog

from cohort.domain.model import (
    GroupStatus,
    Operation,
    Snapshot,
    SnapshotStatus,
    Volume,
    VolumeStatus,
    now,
)
from cohort.errors import BackendError
from cohort.manager import outcomes
from cohort.manager.from_source import FromSourceMixin
from cohort.manager.group_snapshots import GroupSnapshotsMixin
from cohort.manager.journal import Journal
from cohort.manager.members import apply_snapshots, apply_volumes
from cohort.manager.volumes import VolumesMixin

log = structlog.get_logger(__name__)


class RecoveryMixin(FromSourceMixin, GroupSnapshotsMixin, VolumesMixin):
    def recover(self) -> None:
        with self.store.transaction() as tx:
            operations = tx.operations.find()
        for operation in operations:
            log.warning(
                "resolving an interrupted operation",
                operation=operation.kind,
                subject=operation.subject_id,
                steps=len(operation.steps),
            )
            try:
                self._resolve(operation)
            except BackendError as exc:
                log.error("interrupted operation ended in error", error=str(exc))
        self._settle_transitional()
        self.reconcile()
        self.refresh_pool()  # figures at hand before the first call, even if LVM is busy then
        self.notify()

    def reconcile(self) -> dict[str, str]:
        """Compare the store with the backend's inventory; returns what the store lacks."""
        held = self.backend.inventory()
        known: set[str] = set()
        with self.mutation() as tx:
            for vol in tx.volumes:
                known.add(vol.id)
                if held.get(vol.id) != "volume" and vol.status is not VolumeStatus.ERROR:
                    log.error("backing vanished; volume set to error", id=vol.id)
                    tx.volumes.patch(vol.id, status=VolumeStatus.ERROR, updated_at=now())
            for snap in tx.snapshots:
                known.add(snap.id)
                if held.get(snap.id) != "snapshot" and snap.status is not SnapshotStatus.ERROR:
                    log.error("backing vanished; snapshot set to error", id=snap.id)
                    tx.snapshots.patch(snap.id, status=SnapshotStatus.ERROR, updated_at=now())
        unknown = {i: k for i, k in held.items() if i not in known}
        for object_id, kind in unknown.items():
            log.warning("backend holds an object the store does not know", kind=kind, id=object_id)
        return unknown

    def _resolve(self, operation: Operation) -> None:
        journal = Journal(self.store, operation)
        with self.store.transaction() as tx:
            group = tx.groups.get(operation.subject_id)
            gsnap = tx.group_snapshots.get(operation.subject_id)
            volumes = tx.volumes.find(group_id=group.id) if group else []
            snapshots = tx.snapshots.find(group_snapshot_id=gsnap.id) if gsnap else []
        subject = group or gsnap
        cg = subject is not None and subject.group_type_id == self.cg_type_id
        if operation.kind == "delete_group" and group is not None:
            self.run_delete_group(group, volumes, journal, cg)
        elif operation.kind == "delete_group_snapshot" and gsnap is not None:
            self.run_delete_group_snapshot(gsnap, snapshots, journal, cg)
        elif operation.kind in ("create_group_from_src", "create_group_snapshot"):
            journal.rollback(self.backend)
            with self.mutation() as tx:
                if group is not None:
                    verdict = outcomes.raised([v.id for v in volumes], "interrupted")
                    apply_volumes(tx.volumes, volumes, verdict.member_status)
                    tx.groups.patch(group.id, status=GroupStatus.ERROR, updated_at=now())
                if gsnap is not None:
                    verdict = outcomes.raised([s.id for s in snapshots], "interrupted")
                    apply_snapshots(tx.snapshots, snapshots, verdict.member_status)
                    tx.group_snapshots.patch(
                        gsnap.id, status=SnapshotStatus.ERROR, updated_at=now()
                    )
        else:
            log.warning("operation without its subject; closing it", operation=operation.kind)
            journal.finish()

    def _settle_transitional(self) -> None:
        with self.store.transaction() as tx:
            volumes = [
                v
                for status in (VolumeStatus.CREATING, VolumeStatus.DELETING, VolumeStatus.EXTENDING)
                for v in tx.volumes.find(status=status)
            ]
            snapshots = [
                s
                for status in (SnapshotStatus.CREATING, SnapshotStatus.DELETING)
                for s in tx.snapshots.find(status=status)
            ]
            groups = [
                g
                for status in (GroupStatus.CREATING, GroupStatus.UPDATING, GroupStatus.DELETING)
                for g in tx.groups.find(status=status)
            ]
            gsnaps = [
                g
                for status in (SnapshotStatus.CREATING, SnapshotStatus.DELETING)
                for g in tx.group_snapshots.find(status=status)
            ]
        for vol in volumes:
            log.warning("resolving an interrupted volume call", volume=vol.id, status=vol.status)
            if vol.status is VolumeStatus.EXTENDING:
                self.set_volume_status(vol, VolumeStatus.ERROR)
            elif vol.status is VolumeStatus.DELETING:
                self._finish_interrupted_delete(vol)
            else:
                self._remove_quietly(vol)
                self.set_volume_status(vol, VolumeStatus.ERROR)
        for snap in snapshots:
            log.warning("resolving an interrupted snapshot call", snapshot=snap.id)
            if snap.status is SnapshotStatus.DELETING:
                self._finish_interrupted_delete(snap)
            else:
                self._remove_quietly(snap)
                self.set_snapshot_status(snap, SnapshotStatus.ERROR)
        with self.mutation() as tx:
            for group in groups:
                tx.groups.patch(group.id, status=GroupStatus.ERROR, updated_at=now())
            for gsnap in gsnaps:
                tx.group_snapshots.patch(gsnap.id, status=SnapshotStatus.ERROR, updated_at=now())

    def _finish_interrupted_delete(self, obj: Volume | Snapshot) -> None:
        try:
            if isinstance(obj, Volume):
                self._delete(obj, self.backend.delete_volume, self._forget_volume)
            else:
                self._delete(obj, self.backend.delete_snapshot, self._forget_snapshot)
        except BackendError as exc:
            log.error("interrupted delete failed again", error=str(exc))

    def _remove_quietly(self, obj: Volume | Snapshot) -> None:
        """Remove what a cut-off create may have left in the backend."""
        try:
            if isinstance(obj, Volume):
                self.backend.delete_volume(obj)
            else:
                self.backend.delete_snapshot(obj)
        except Exception:
            log.exception("could not remove a half-made object", object=obj.id)
