"""Groups made from a source: a group snapshot, or another group (a clone of the whole group).

Cinder's documents on consistency groups and on cloning a group: the new group takes the source's
group type and volume types, one new volume per source member, all or nothing (journaled).
"""

from __future__ import annotations

from cohort.domain import validation
from cohort.domain.model import Group, GroupSnapshot, GroupStatus, Snapshot, SnapshotStatus, Volume
from cohort.domain.store import Transaction
from cohort.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from cohort.manager import outcomes
from cohort.manager.core import Pool
from cohort.manager.groups import GroupsMixin, label
from cohort.manager.journal import Journal
from cohort.manager.members import apply_volumes, patch
from cohort.manager.reservations import Mode, Ticket
from cohort.manager.volumes import USABLE, describe

#: A planned create from source: the group, its volumes, the group snapshot and its snapshots
#: or the source group and its volumes.
_FromSource = tuple[
    Group, list[Volume], GroupSnapshot | None, list[Snapshot], Group | None, list[Volume]
]


class FromSourceMixin(GroupsMixin):
    def create_group_from_source(
        self,
        name: str,
        description: str,
        *,
        group_snapshot: str = "",
        source_group: str = "",
        cg: bool = False,
    ) -> Group:
        validation.name(name, "group name")
        validation.description(description)
        if bool(group_snapshot) == bool(source_group):
            raise InvalidArgument("give exactly one source: a group snapshot or a group")
        return self.idempotent(
            lambda: self._create_group_from_source(
                name, description, group_snapshot, source_group, cg
            )
        )

    def _create_group_from_source(
        self, name: str, description: str, group_snapshot: str, source_group: str, cg: bool
    ) -> Group:
        pool = self.pool()
        with self.reserve("CreateGroupFromSource") as ticket:
            with self.mutation() as tx:
                plan = self._plan_from_source(
                    tx, ticket, pool, name, description, group_snapshot, source_group, cg
                )
            if isinstance(plan, Group):
                return plan  # an identical group, settled
            group, volumes, gsnap, snapshots, src_group, src_vols = plan
            member_ids = [v.id for v in volumes]

            def call(journal: Journal) -> outcomes.Verdict:
                model, updates = self.backend.create_group_from_src(
                    group,
                    volumes,
                    journal,
                    group_snapshot=gsnap,
                    snapshots=snapshots if gsnap else None,
                    source_group=src_group,
                    source_vols=src_vols if src_group else None,
                )
                return outcomes.taken(outcomes.create_group_from_src(updates, member_ids), model)

            verdict, error = self.journaled_create(
                "create_group_from_src", group.id, member_ids, call
            )
            with self.mutation() as tx:
                apply_volumes(tx.volumes, volumes, verdict.member_status, verdict.device_paths)
                patch(tx.groups, group, status=self._group_status(verdict), **verdict.recorded())
        self.notify()
        self.report_freeze("create_group_from_src", group.id, len(volumes), verdict)
        if verdict.failed:
            message = f"{label(group, cg)}: create from source failed: {verdict.reason}"
            raise self.failure(error, message)
        return group

    def _plan_from_source(
        self,
        tx: Transaction,
        ticket: Ticket,
        pool: Pool,
        name: str,
        description: str,
        group_snapshot: str,
        source_group: str,
        cg: bool,
    ) -> Group | _FromSource:
        """The new group and its volumes, inserted and held, with their sources held shared
        (a source group exclusively: its image is taken whole); or an identical group."""
        if group_snapshot:
            gsnap = self.group_snapshot(tx, group_snapshot, cg=cg)
            src_group = None
        else:
            gsnap = None
            src_group = self.group(tx, source_group, cg=cg)
        existing = tx.groups.by_name(name)
        if existing is not None:
            same = (
                existing.description == description
                and existing.group_snapshot_id == (gsnap.id if gsnap else None)
                and existing.source_group_id == (src_group.id if src_group else None)
            )
            if same:
                return self.settled("group", existing)
            raise AlreadyExists(f"group {name} exists with other arguments")
        snapshots: list[Snapshot] = []
        src_vols: list[Volume] = []
        if gsnap is not None:
            ticket.hold("group snapshot", gsnap.id, Mode.SHARED)
            if gsnap.status is not SnapshotStatus.AVAILABLE:
                raise FailedPrecondition(f"group snapshot {gsnap.name} is {gsnap.status}")
            snapshots = tx.snapshots.find(group_snapshot_id=gsnap.id)
            self.hold_all(ticket, "snapshot", [s.id for s in snapshots], Mode.SHARED)
            found = tx.groups.get(gsnap.group_id)
            if found is None:
                raise FailedPrecondition(f"the group of group snapshot {gsnap.name} is gone")
            parent = found
        else:
            assert src_group is not None
            parent = src_group
            ticket.hold("group", src_group.id, Mode.EXCLUSIVE)
            if src_group.status is not GroupStatus.AVAILABLE:
                raise FailedPrecondition(f"{label(src_group, cg)} is {src_group.status}")
            src_vols = tx.volumes.find(group_id=src_group.id)
            self.hold_all(ticket, "volume", [v.id for v in src_vols], Mode.SHARED)
            for vol in src_vols:
                if vol.status not in USABLE:
                    raise FailedPrecondition(f"{describe(vol)} is {vol.status}")
            self.require_consistency(pool, src_group, "clone")
        group = Group(
            name=name,
            group_type_id=parent.group_type_id,
            volume_type_ids=list(parent.volume_type_ids),
            description=description,
            consistent=parent.consistent,
            source_group_id=src_group.id if src_group else None,
            group_snapshot_id=gsnap.id if gsnap else None,
        )
        volumes = []
        for snap in snapshots:
            origin = tx.volumes.get(snap.volume_id)
            volumes.append(self._member(group, snap.size_bytes, origin, source_snapshot_id=snap.id))
        for vol in src_vols:
            volumes.append(self._member(group, vol.size_bytes, vol, source_volume_id=vol.id))
        self.require_group_size(tx, group, len(volumes), 0)
        self.require_room(tx, pool, sum(v.size_bytes for v in volumes), f"group {name}")
        self.insert_held(ticket, tx.groups, "group", [group])
        self.insert_held(ticket, tx.volumes, "volume", volumes)
        return group, volumes, gsnap, snapshots, src_group, src_vols

    @staticmethod
    def _member(
        group: Group,
        size: int,
        origin: Volume | None,
        *,
        source_snapshot_id: str | None = None,
        source_volume_id: str | None = None,
    ) -> Volume:
        """A new member volume named after its origin, unique by the new group's id."""
        base = origin.name if origin else (source_snapshot_id or "volume")
        return Volume(
            name=f"{base[:200]}.{group.id[:8]}",
            size_bytes=size,
            volume_type_id=origin.volume_type_id if origin else group.volume_type_ids[0],
            group_id=group.id,
            source_snapshot_id=source_snapshot_id,
            source_volume_id=source_volume_id,
        )
