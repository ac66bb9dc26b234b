"""Generic volume groups and consistency groups (seed 003; CGs per its migration rules)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from cohort.domain import specs, validation
from cohort.domain.model import (
    CONSISTENT_SPEC,
    Group,
    GroupStatus,
    Volume,
    VolumeStatus,
    VolumeType,
)
from cohort.domain.store import Page, Transaction
from cohort.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
)
from cohort.manager import outcomes
from cohort.manager.core import Core, Pool
from cohort.manager.journal import Journal
from cohort.manager.members import apply_volumes, coerce, patch
from cohort.manager.reservations import Mode, Ticket
from cohort.manager.volumes import USABLE, describe, require_deletable

log = structlog.get_logger(__name__)

DELETABLE_GROUP = frozenset({GroupStatus.AVAILABLE, GroupStatus.ERROR, GroupStatus.ERROR_DELETING})
REMOVABLE = frozenset(
    {VolumeStatus.AVAILABLE, VolumeStatus.IN_USE, VolumeStatus.ERROR, VolumeStatus.ERROR_DELETING}
)


def label(group: Group, cg: bool) -> str:
    return f"{'consistency group' if cg else 'group'} {group.name} ({group.id})"


class GroupsMixin(Core):
    def create_group(
        self,
        name: str,
        description: str,
        group_type: str,
        volume_types: Sequence[str],
        *,
        cg: bool = False,
    ) -> Group:
        validation.name(name, "group name")
        validation.description(description)
        if not volume_types:
            raise InvalidArgument("a group needs at least one volume type")
        return self.idempotent(
            lambda: self._create_group(name, description, group_type, volume_types, cg)
        )

    def _create_group(
        self, name: str, description: str, group_type: str, volume_types: Sequence[str], cg: bool
    ) -> Group:
        pool = self.pool()
        with self.reserve("CreateGroup") as ticket:
            with self.mutation() as tx:
                group, new = self._plan_group(
                    tx, ticket, pool, name, description, group_type, volume_types, cg
                )
            if not new:
                return group
            error: Exception | None = None
            try:
                verdict = outcomes.create_group(self.backend.create_group(group))
            except Exception as exc:
                verdict, error = outcomes.raised([], str(exc)), exc
            self._finish_group(group, verdict)
        if verdict.failed:
            raise self.failure(error, f"{label(group, cg)}: create failed: {verdict.reason}")
        return group

    def _plan_group(
        self,
        tx: Transaction,
        ticket: Ticket,
        pool: Pool,
        name: str,
        description: str,
        group_type: str,
        volume_types: Sequence[str],
        cg: bool,
    ) -> tuple[Group, bool]:
        """(the new group, inserted and held, True); or (an identical one, settled, False)."""
        gtype = tx.group_types.get(self.cg_type_id) if cg else self.group_type(tx, group_type)
        assert gtype is not None
        if gtype.reserved and not cg:
            raise InvalidArgument(
                f"group type {gtype.name} is reserved: use the ConsistencyGroups API"
            )
        vtypes = self._distinct_types(tx, volume_types)
        type_ids = [t.id for t in vtypes]
        existing = tx.groups.by_name(name)
        if existing is not None:
            same = (
                existing.group_type_id == gtype.id
                and existing.volume_type_ids == type_ids
                and existing.description == description
                and existing.source_group_id is None
                and existing.group_snapshot_id is None
            )
            if same:
                return self.settled("group", existing), False
            raise AlreadyExists(f"group {name} exists with other arguments")
        consistent = cg or specs.is_true(gtype.group_specs.get(CONSISTENT_SPEC, ""))
        self._check_group_types(pool, gtype.group_specs, vtypes, consistent=consistent, cg=cg)
        group = Group(
            name=name,
            group_type_id=gtype.id,
            volume_type_ids=type_ids,
            description=description,
            consistent=consistent,
        )
        tx.groups.add(group)
        ticket.hold("group", group.id, Mode.EXCLUSIVE)
        return group, True

    def _distinct_types(self, tx: Transaction, refs: Sequence[str]) -> list[VolumeType]:
        vtypes: list[VolumeType] = []
        for ref in refs:
            vtype = self.volume_type(tx, ref)
            if vtype in vtypes:
                raise InvalidArgument(f"volume type {vtype.name} is given twice")
            vtypes.append(vtype)
        return vtypes

    def _check_group_types(
        self,
        pool: Pool,
        group_specs: dict[str, str],
        vtypes: Sequence[VolumeType],
        *,
        consistent: bool,
        cg: bool,
    ) -> None:
        """Seed 003: a consistent group type accepts only consistent volume types; every spec
        that names a capability must match it; a CG needs consistencygroup_support."""
        if cg and not pool.capabilities.consistencygroup_support:
            raise FailedPrecondition("this backend does not report consistencygroup_support")
        self.require_specs(pool, group_specs, "group type")
        for vtype in vtypes:
            if (
                consistent
                and not cg
                and not specs.is_true(vtype.extra_specs.get(CONSISTENT_SPEC, ""))
            ):
                raise FailedPrecondition(
                    f"volume type {vtype.name} lacks {CONSISTENT_SPEC}, which the group type sets"
                )
            self.require_specs(pool, vtype.extra_specs, f"volume type {vtype.name}")

    def _finish_group(self, group: Group, verdict: outcomes.Verdict) -> None:
        with self.mutation() as tx:
            patch(tx.groups, group, status=self._group_status(verdict))
        self.notify()

    @staticmethod
    def _group_status(verdict: outcomes.Verdict) -> GroupStatus:
        return coerce(GroupStatus, verdict.parent_status, GroupStatus.ERROR)

    def update_group(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        add_volume_ids: Sequence[str] = (),
        remove_volume_ids: Sequence[str] = (),
        cg: bool = False,
    ) -> Group:
        if name is not None:
            validation.name(name, "group name")
        if description is not None:
            validation.description(description)
        ids = [*add_volume_ids, *remove_volume_ids]
        for volume_id in ids:
            validation.object_id(volume_id, "volume id")
        if len(set(ids)) != len(ids):
            raise InvalidArgument("a volume is named twice in add_volume_ids/remove_volume_ids")
        with self.reserve("UpdateGroup") as ticket:
            with self.mutation() as tx:
                group = self.group(tx, ref, cg=cg)
                ticket.hold("group", group.id, Mode.EXCLUSIVE)
                if group.status not in (GroupStatus.AVAILABLE, GroupStatus.IN_USE):
                    raise FailedPrecondition(f"{label(group, cg)} is {group.status}")
                changes: dict[str, object] = {}
                if name is not None and name != group.name:
                    if tx.groups.by_name(name) is not None:
                        raise AlreadyExists(f"group {name} exists")
                    changes["name"] = name
                if description is not None:
                    changes["description"] = description
                add = [self._addable(tx, ticket, group, v, cg) for v in add_volume_ids]
                remove = [self._removable(tx, ticket, group, v, cg) for v in remove_volume_ids]
                self.require_group_size(tx, group, len(add), len(remove))
                if add or remove:
                    changes["status"] = GroupStatus.UPDATING
                patch(tx.groups, group, **changes)
            if not (add or remove):
                return group
            current = {v.id: v.status.value for v in [*add, *remove]}
            error: Exception | None = None
            try:
                model, add_updates, remove_updates = self.backend.update_group(group, add, remove)
                verdict = outcomes.update_group(model, add_updates, remove_updates, current)
            except Exception as exc:
                verdict, error = outcomes.raised(list(current), str(exc)), exc
            with self.mutation() as tx:
                if not verdict.failed:
                    for vol in add:
                        vol.group_id = group.id
                        tx.volumes.patch(vol.id, group_id=group.id)
                    for vol in remove:
                        vol.group_id = None
                        tx.volumes.patch(vol.id, group_id=None)
                apply_volumes(tx.volumes, [*add, *remove], verdict.member_status)
                patch(tx.groups, group, status=self._group_status(verdict))
        self.notify()
        if verdict.failed:
            raise self.failure(error, f"{label(group, cg)}: update failed: {verdict.reason}")
        return group

    def _addable(
        self, tx: Transaction, ticket: Ticket, group: Group, volume_id: str, cg: bool
    ) -> Volume:
        vol = self.volume(tx, volume_id)
        ticket.hold("volume", vol.id, Mode.EXCLUSIVE)
        if vol.status not in USABLE:
            raise FailedPrecondition(f"{describe(vol)} is {vol.status}, not available or in-use")
        if vol.group_id:
            raise FailedPrecondition(f"{describe(vol)} is already in group {vol.group_id}")
        if vol.volume_type_id not in group.volume_type_ids:
            raise FailedPrecondition(
                f"{describe(vol)} has a volume type {label(group, cg)} does not accept"
            )
        return vol

    def _removable(
        self, tx: Transaction, ticket: Ticket, group: Group, volume_id: str, cg: bool
    ) -> Volume:
        vol = self.volume(tx, volume_id)
        ticket.hold("volume", vol.id, Mode.EXCLUSIVE)
        if vol.group_id != group.id:
            raise FailedPrecondition(f"{describe(vol)} is not in {label(group, cg)}")
        if vol.status not in REMOVABLE:
            raise FailedPrecondition(f"{describe(vol)} is {vol.status}")
        return vol

    def delete_group(self, ref: str, *, delete_volumes: bool = False, cg: bool = False) -> None:
        with self.reserve("DeleteGroup") as ticket:
            with self.mutation() as tx:
                group = self.group(tx, ref, cg=cg)
                ticket.hold("group", group.id, Mode.EXCLUSIVE)
                if group.status not in DELETABLE_GROUP:
                    raise FailedPrecondition(f"{label(group, cg)} is {group.status}")
                volumes = tx.volumes.find(group_id=group.id)
                self.hold_all(ticket, "volume", [v.id for v in volumes], Mode.EXCLUSIVE)
                if volumes and not delete_volumes:
                    raise FailedPrecondition(
                        f"{label(group, cg)} has {len(volumes)} volumes (set delete_volumes)"
                    )
                if tx.group_snapshots.count(group_id=group.id):
                    raise FailedPrecondition(f"{label(group, cg)} has group snapshots")
                for vol in volumes:
                    require_deletable(tx, vol)
                patch(tx.groups, group, status=GroupStatus.DELETING)
                for vol in volumes:
                    patch(tx.volumes, vol, status=VolumeStatus.DELETING)
            journal = Journal.begin(self.store, "delete_group", group.id)
            self.notify()
            self.run_delete_group(group, volumes, journal, cg)

    def run_delete_group(
        self, group: Group, volumes: Sequence[Volume], journal: Journal, cg: bool
    ) -> None:
        """The backend part of a group delete; re-run as is after a crash (deletes roll
        forward: the backend's deletes are idempotent)."""
        member_ids = [v.id for v in volumes]
        error: Exception | None = None
        try:
            model, updates = self.backend.delete_group(group, volumes, journal)
            verdict = outcomes.group_members(model, updates, member_ids, deleting=True)
        except Exception as exc:
            verdict, error = outcomes.raised(member_ids, str(exc)), exc
        with self.mutation() as tx:
            statuses = verdict.member_status
            apply_volumes(tx.volumes, volumes, statuses)
            if verdict.failed:
                patch(tx.groups, group, status=self._group_status(verdict))
            else:
                tx.groups.remove(group.id)
        journal.finish()
        self.notify()
        if verdict.failed:
            raise self.failure(error, f"{label(group, cg)}: delete failed: {verdict.reason}")
        log.info("deleted", object=label(group, cg), volumes=len(volumes))

    def get_group(self, ref: str, *, cg: bool = False) -> Group:
        with self.reading() as tx:
            return self.group(tx, ref, cg=cg)

    def list_groups(
        self,
        page_size: int,
        page_token: str,
        status: GroupStatus | None = None,
        *,
        cg: bool = False,
    ) -> Page[Group]:
        eq, exclude = self.cg_filter(cg)
        with self.reading() as tx:
            return self.paged(tx.groups, page_size, page_token, exclude, status=status, **eq)

    def volume_ids(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {gid: [] for gid in group_ids}
        with self.reading() as tx:
            for gid in group_ids:
                members[gid] = [v.id for v in tx.volumes.find(group_id=gid)]
        return members
