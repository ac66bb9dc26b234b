"""Group snapshots and cgsnapshots: one snapshot per member, all or nothing; write-order
consistent when the group is (the backend freezes I/O to the members, or fails)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from cohort.domain import validation
from cohort.domain.model import GroupSnapshot, GroupStatus, Snapshot, SnapshotStatus
from cohort.domain.store import Page
from cohort.errors import AlreadyExists, FailedPrecondition
from cohort.manager import outcomes
from cohort.manager.core import Core
from cohort.manager.groups import label
from cohort.manager.journal import Journal
from cohort.manager.members import apply_snapshots, coerce, patch
from cohort.manager.reservations import Mode
from cohort.manager.volumes import DELETABLE_SNAPSHOT, USABLE, describe, require_unexported

log = structlog.get_logger(__name__)


def gs_label(group_snapshot: GroupSnapshot, cg: bool) -> str:
    kind = "cgsnapshot" if cg else "group snapshot"
    return f"{kind} {group_snapshot.name} ({group_snapshot.id})"


class GroupSnapshotsMixin(Core):
    def create_group_snapshot(
        self, group: str, name: str, description: str = "", *, cg: bool = False
    ) -> GroupSnapshot:
        validation.name(name, "group snapshot name")
        validation.description(description)
        return self.idempotent(lambda: self._create_group_snapshot(group, name, description, cg))

    def _create_group_snapshot(
        self, group: str, name: str, description: str, cg: bool
    ) -> GroupSnapshot:
        pool = self.pool()
        with self.reserve("CreateGroupSnapshot") as ticket:
            with self.mutation() as tx:
                parent = self.group(tx, group, cg=cg)
                existing = tx.group_snapshots.by_name(name)
                if existing is not None:
                    if (existing.group_id, existing.description) == (parent.id, description):
                        return self.settled("group snapshot", existing)
                    raise AlreadyExists(f"group snapshot {name} exists with other arguments")
                ticket.hold("group", parent.id, Mode.EXCLUSIVE)
                if parent.status is not GroupStatus.AVAILABLE:
                    raise FailedPrecondition(f"{label(parent, cg)} is {parent.status}")
                volumes = tx.volumes.find(group_id=parent.id)
                self.hold_all(ticket, "volume", [v.id for v in volumes], Mode.SHARED)
                if not volumes:
                    raise FailedPrecondition(f"{label(parent, cg)} has no volumes")
                for vol in volumes:
                    if vol.status not in USABLE:
                        raise FailedPrecondition(f"{describe(vol)} is {vol.status}")
                self.require_consistency(pool, parent, "group snapshot")
                gsnap = GroupSnapshot(
                    name=name,
                    group_id=parent.id,
                    group_type_id=parent.group_type_id,
                    description=description,
                    consistent=parent.consistent,
                )
                snapshots = [
                    Snapshot(
                        name=f"{vol.name[:200]}.{gsnap.id[:8]}",
                        volume_id=vol.id,
                        size_bytes=vol.size_bytes,
                        group_snapshot_id=gsnap.id,
                    )
                    for vol in volumes
                ]
                self.insert_held(ticket, tx.group_snapshots, "group snapshot", [gsnap])
                self.insert_held(ticket, tx.snapshots, "snapshot", snapshots)
            member_ids = [s.id for s in snapshots]

            def call(journal: Journal) -> outcomes.Verdict:
                model, updates = self.backend.create_group_snapshot(gsnap, snapshots, journal)
                verdict = outcomes.group_members(model, updates, member_ids, deleting=False)
                return outcomes.taken(verdict, model)

            verdict, error = self.journaled_create(
                "create_group_snapshot", gsnap.id, member_ids, call
            )
            self._settle(gsnap, snapshots, verdict)
        self.report_freeze("create_group_snapshot", gsnap.id, len(snapshots), verdict)
        if verdict.failed:
            raise self.failure(error, f"{gs_label(gsnap, cg)}: create failed: {verdict.reason}")
        return gsnap

    def _settle(
        self, gsnap: GroupSnapshot, snapshots: Sequence[Snapshot], verdict: outcomes.Verdict
    ) -> None:
        with self.mutation() as tx:
            apply_snapshots(tx.snapshots, snapshots, verdict.member_status)
            status = coerce(SnapshotStatus, verdict.parent_status, SnapshotStatus.ERROR)
            if status is SnapshotStatus.DELETED:
                tx.group_snapshots.remove(gsnap.id)
            else:
                patch(tx.group_snapshots, gsnap, status=status, **verdict.recorded())
        self.notify()

    def delete_group_snapshot(self, ref: str, *, cg: bool = False) -> None:
        with self.reserve("DeleteGroupSnapshot") as ticket:
            with self.mutation() as tx:
                gsnap = self.group_snapshot(tx, ref, cg=cg)
                ticket.hold("group snapshot", gsnap.id, Mode.EXCLUSIVE)
                if gsnap.status not in DELETABLE_SNAPSHOT:
                    raise FailedPrecondition(f"{gs_label(gsnap, cg)} is {gsnap.status}")
                snapshots = tx.snapshots.find(group_snapshot_id=gsnap.id)
                self.hold_all(ticket, "snapshot", [s.id for s in snapshots], Mode.EXCLUSIVE)
                for snap in snapshots:
                    require_unexported(tx, snap)
                patch(tx.group_snapshots, gsnap, status=SnapshotStatus.DELETING)
                for snap in snapshots:
                    patch(tx.snapshots, snap, status=SnapshotStatus.DELETING)
            journal = Journal.begin(self.store, "delete_group_snapshot", gsnap.id)
            self.notify()
            self.run_delete_group_snapshot(gsnap, snapshots, journal, cg)

    def run_delete_group_snapshot(
        self,
        gsnap: GroupSnapshot,
        snapshots: Sequence[Snapshot],
        journal: Journal,
        cg: bool,
    ) -> None:
        """The backend part of a group snapshot delete; re-run as is after a crash."""
        member_ids = [s.id for s in snapshots]
        error: Exception | None = None
        try:
            model, updates = self.backend.delete_group_snapshot(gsnap, snapshots, journal)
            verdict = outcomes.group_members(model, updates, member_ids, deleting=True)
        except Exception as exc:
            verdict, error = outcomes.raised(member_ids, str(exc)), exc
        journal.finish()
        self._settle(gsnap, snapshots, verdict)
        if verdict.failed:
            raise self.failure(error, f"{gs_label(gsnap, cg)}: delete failed: {verdict.reason}")

    def get_group_snapshot(self, ref: str, *, cg: bool = False) -> GroupSnapshot:
        with self.reading() as tx:
            return self.group_snapshot(tx, ref, cg=cg)

    def list_group_snapshots(
        self,
        page_size: int,
        page_token: str,
        status: SnapshotStatus | None = None,
        group: str = "",
        *,
        cg: bool = False,
    ) -> Page[GroupSnapshot]:
        eq, exclude = self.cg_filter(cg)
        with self.reading() as tx:
            if group:
                eq["group_id"] = self.group(tx, group, cg=cg).id
            return self.paged(
                tx.group_snapshots, page_size, page_token, exclude, status=status, **eq
            )

    def snapshot_ids(self, group_snapshot_ids: Sequence[str]) -> dict[str, list[str]]:
        with self.reading() as tx:
            return {
                gid: [s.id for s in tx.snapshots.find(group_snapshot_id=gid)]
                for gid in group_snapshot_ids
            }
