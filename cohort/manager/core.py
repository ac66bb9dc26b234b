"""The manager's shared machinery: lookups, the mutation lock, capability checks, notifications.

Concurrency: status transitions (check preconditions, move to a transitional status) and the
application of results happen in short transactions under one mutation lock. Backend calls run
outside it: a transitional status (creating, deleting, updating, ...) guards the objects while
the backend works, exactly as Cinder's statuses do. No store transaction is ever open across a
backend call (a backend journals its steps in transactions of its own): checks that need the
pool's figures read them under the lock, before the transaction opens. Reads take no lock and use
read-only transactions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TypeVar

import structlog

from cohort.domain import specs, validation
from cohort.domain.backend import Backend, PoolStats
from cohort.domain.capabilities import Capabilities, CapabilityPolicy, check_room, derive
from cohort.domain.model import (
    CG_GROUP_TYPE_NAME,
    CONSISTENT_SPEC,
    Group,
    GroupSnapshot,
    GroupType,
    Snapshot,
    Volume,
    VolumeType,
)
from cohort.domain.store import Page, Repository, Store, Transaction
from cohort.errors import FailedPrecondition, NotFound
from cohort.manager import outcomes
from cohort.manager.journal import Journal

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Pool:
    """The backend's figures as a checked mutation saw them."""

    stats: PoolStats
    capabilities: Capabilities


class Core:
    def __init__(self, store: Store, backend: Backend, policy: CapabilityPolicy, host: str) -> None:
        self.store = store
        self.backend = backend
        self.policy = policy
        self.host = host
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []
        self.cg_type_id = self._ensure_cg_type()

    # -- plumbing ----------------------------------------------------------------------------
    @contextmanager
    def mutation(self) -> Iterator[Transaction]:
        """A transaction under the mutation lock: for checks that must hold until it commits."""
        with self._lock, self.store.transaction() as tx:
            yield tx

    @contextmanager
    def checked_mutation(self) -> Iterator[tuple[Transaction, Pool]]:
        """A mutation whose checks need the pool's figures (capabilities, capacity)."""
        with self._lock:
            stats = self.backend.stats()
            pool = Pool(stats, derive(stats, self.policy, self.host))
            with self.store.transaction() as tx:
                yield tx, pool

    def reading(self) -> AbstractContextManager[Transaction]:
        return self.store.transaction(readonly=True)

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    def notify(self) -> None:
        for callback in list(self._subscribers):
            try:
                callback()
            except Exception:  # a subscriber must never break an RPC
                log.exception("capability subscriber failed")

    def journaled_create(
        self,
        kind: str,
        subject_id: str,
        member_ids: Sequence[str],
        call: Callable[[Journal], outcomes.Verdict],
    ) -> outcomes.Verdict:
        """Run a multi-step create under a new journal operation: the backend call's verdict,
        or `raised` if it raised; a failed create is rolled back (all or nothing)."""
        journal = Journal.begin(self.store, kind, subject_id)
        self.notify()
        try:
            verdict = call(journal)
        except Exception as exc:
            verdict = outcomes.raised(member_ids, str(exc))
        if verdict.failed:
            self.roll_back(journal)
        else:
            journal.finish()
        return verdict

    def roll_back(self, journal: Journal) -> None:
        """Undo a failed create's recorded steps. If undoing fails too, the operation stays in
        the journal and the next start retries it; the caller's error stands either way."""
        try:
            journal.rollback(self.backend)
        except Exception:
            log.exception(
                "rollback incomplete; retried at the next start",
                operation=journal.operation.kind,
                subject=journal.operation.subject_id,
            )

    def _ensure_cg_type(self) -> str:
        with self.mutation() as tx:
            existing = tx.group_types.by_name(CG_GROUP_TYPE_NAME)
            if existing is not None:
                return existing.id
            cg_type = GroupType(
                name=CG_GROUP_TYPE_NAME,
                description="consistency groups (reserved)",
                group_specs={CONSISTENT_SPEC: "<is> True"},
                reserved=True,
            )
            tx.group_types.add(cg_type)
            return cg_type.id

    # -- capabilities ------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return derive(self.backend.stats(), self.policy, self.host)

    @staticmethod
    def require_specs(pool: Pool, spec_map: Mapping[str, str], what: str) -> None:
        reasons = specs.mismatches(spec_map, pool.capabilities.flat())
        if reasons:
            raise FailedPrecondition(f"{what} does not match this backend: {'; '.join(reasons)}")

    def require_room(self, pool: Pool, size_bytes: int, what: str) -> None:
        check_room(pool.stats, self.policy, size_bytes, what)

    @staticmethod
    def require_consistency(pool: Pool, group: Group, what: str) -> None:
        """cohort never claims a consistency it does not deliver."""
        if group.consistent and not pool.capabilities.consistent_group_snapshot_enabled:
            raise FailedPrecondition(
                f"{what}: group {group.name} needs consistent group snapshots, "
                "which this backend does not provide"
            )

    # -- lookups -----------------------------------------------------------------------------
    @staticmethod
    def by_ref(repo: Repository[T], ref: str, what: str) -> T:
        validation.ref(ref, what)
        found = repo.get(ref) or repo.by_name(ref)
        if found is None:
            raise NotFound(f"{what} {ref} not found")
        return found

    @staticmethod
    def by_id(repo: Repository[T], object_id: str, what: str) -> T:
        validation.object_id(object_id, what)
        found = repo.get(object_id)
        if found is None:
            raise NotFound(f"{what} {object_id} not found")
        return found

    def volume_type(self, tx: Transaction, ref: str) -> VolumeType:
        return self.by_ref(tx.volume_types, ref, "volume type")

    def group_type(self, tx: Transaction, ref: str) -> GroupType:
        return self.by_ref(tx.group_types, ref, "group type")

    def group(self, tx: Transaction, ref: str, *, cg: bool | None) -> Group:
        """A group by id or name; cg=True only CGs, cg=False only generic groups, None either."""
        what = "consistency group" if cg else "group"
        group = self.by_ref(tx.groups, ref, what)
        if cg is not None and (group.group_type_id == self.cg_type_id) != cg:
            raise NotFound(f"{what} {ref} not found")
        return group

    def group_snapshot(self, tx: Transaction, ref: str, *, cg: bool) -> GroupSnapshot:
        what = "cgsnapshot" if cg else "group snapshot"
        group_snapshot = self.by_ref(tx.group_snapshots, ref, what)
        if (group_snapshot.group_type_id == self.cg_type_id) != cg:
            raise NotFound(f"{what} {ref} not found")
        return group_snapshot

    def volume(self, tx: Transaction, volume_id: str) -> Volume:
        return self.by_id(tx.volumes, volume_id, "volume")

    def snapshot(self, tx: Transaction, snapshot_id: str) -> Snapshot:
        return self.by_id(tx.snapshots, snapshot_id, "snapshot")

    def cg_filter(self, cg: bool) -> tuple[dict[str, object], dict[str, object]]:
        """(equality, exclusion) filters selecting CGs or generic groups by group type."""
        if cg:
            return {"group_type_id": self.cg_type_id}, {}
        return {}, {"group_type_id": self.cg_type_id}

    @staticmethod
    def paged(
        repo: Repository[T],
        page_size: int,
        page_token: str,
        exclude: Mapping[str, object] | None = None,
        **eq: object,
    ) -> Page[T]:
        size = validation.page_size(page_size)
        filters = {k: v for k, v in eq.items() if v is not None}
        return repo.page(size, page_token, exclude, **filters)
