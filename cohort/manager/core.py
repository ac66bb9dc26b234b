"""The manager's shared machinery: lookups, reservations, capacity, notifications.

Concurrency (the model and its table: cohort.manager.reservations): a mutation plans in one short
transaction under the mutation lock (checks, reservations, inserts), acts on the backend with no
lock held and no transaction open, and applies only the fields it changed. The pool's figures are
read outside the lock (`pool()`); the capacity check inside the plan counts provisioned bytes from
the store. Reads take no lock and use read-only transactions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from cohort.domain import specs, validation
from cohort.domain.backend import Backend, PoolStats
from cohort.domain.capabilities import Capabilities, CapabilityPolicy, check_room, derive
from cohort.domain.exports import ExportPlane
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
from cohort.errors import (
    AlreadyExists,
    BackendError,
    CohortError,
    FailedPrecondition,
    NotFound,
    ObjectBusy,
    ResourceExhausted,
)
from cohort.freeze.protocol import FreezeExpired
from cohort.iscsi.memory import memory_plane
from cohort.manager import outcomes
from cohort.manager.freezes import FreezeObserver, FreezeReport, log_freeze
from cohort.manager.journal import Journal
from cohort.manager.reservations import Mode, Pending, Reservations, Ticket

T = TypeVar("T")
N = TypeVar("N", Volume, Snapshot, Group, GroupSnapshot)
log = structlog.get_logger(__name__)

#: How long an identical create waits for the first one to settle before answering busy.
PENDING_WAIT_SECONDS = 30.0
#: How old the pool's figures may be before a check refreshes them (outside the lock).
POOL_FIGURES_MAX_AGE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Pool:
    """The backend's figures as a checked mutation saw them."""

    stats: PoolStats
    capabilities: Capabilities


class Core:
    def __init__(
        self,
        store: Store,
        backend: Backend,
        policy: CapabilityPolicy,
        host: str,
        exports: ExportPlane | None = None,
    ) -> None:
        self.store = store
        #: Where exports go; without one, an in-memory target (the simulated backend's).
        self.exports = exports if exports is not None else memory_plane()
        self.backend = backend
        self.policy = policy
        self.host = host
        self._lock = threading.Lock()
        self.reservations = Reservations()
        self._figures: tuple[float, PoolStats] | None = None
        self._figures_lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []
        self._freeze_observers: list[FreezeObserver] = []
        self.cg_type_id = self._ensure_cg_type()

    # -- plumbing ----------------------------------------------------------------------------
    @contextmanager
    def mutation(self) -> Iterator[Transaction]:
        """A short transaction under the mutation lock: a plan (checks, reservations, inserts)
        or an apply. Never open across a backend call."""
        with self._lock, self.store.transaction() as tx:
            yield tx

    def reserve(self, operation: str) -> AbstractContextManager[Ticket]:
        """A ticket for one call: its reservations are released when the block ends."""
        return self.reservations.ticket(operation)

    def settled(self, kind: str, obj: T) -> T:
        """`obj` (found by an identical create) once no other call holds it: raises Pending,
        which `idempotent` turns into a wait, while its creator is still at work."""
        object_id: str = getattr(obj, "id")  # noqa: B009 - every record has an id
        if self.reservations.holder(object_id) is not None:
            raise Pending(kind, object_id)
        return obj

    def idempotent(self, create: Callable[[], T]) -> T:
        """Run a create; while an identical create of the same name is under way, wait for it
        (bounded) and look again, so both calls answer the one object."""
        deadline = time.monotonic() + PENDING_WAIT_SECONDS
        while True:
            try:
                return create()
            except Pending as pending:
                left = deadline - time.monotonic()
                if left <= 0 or not self.reservations.wait_free(pending.object_id, left):
                    operation = self.reservations.holder(pending.object_id) or "a create"
                    raise ObjectBusy(pending.kind, pending.object_id, operation) from None

    def pool(self) -> Pool:
        """The pool's figures and capabilities. Never read under the mutation lock, and never
        waited for once known: figures older than POOL_FIGURES_MAX_AGE_SECONDS are refreshed in
        the background (one refresh at a time), so work that needs no LVM never waits for an LVM
        command. Capacity checks take the provisioned bytes from the store, not from here."""
        cached = self._figures
        if cached is None:
            with self._figures_lock:
                if self._figures is None:
                    self._figures = (time.monotonic(), self.backend.stats())
                cached = self._figures
        elif time.monotonic() - cached[
            0
        ] > POOL_FIGURES_MAX_AGE_SECONDS and self._figures_lock.acquire(blocking=False):
            threading.Thread(target=self._refresh_figures, daemon=True).start()
        stats = cached[1]
        return Pool(stats, derive(stats, self.policy, self.host))

    def refresh_pool(self) -> Pool:
        """Read the pool's figures now (at start-up, before serving)."""
        with self._figures_lock:
            self._figures = (time.monotonic(), self.backend.stats())
        return self.pool()

    def _refresh_figures(self) -> None:
        try:
            self._figures = (time.monotonic(), self.backend.stats())
        except Exception:
            log.exception("could not refresh the pool's figures; keeping the last ones")
        finally:
            self._figures_lock.release()

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

    def observe_freezes(self, observer: FreezeObserver) -> None:
        """Call `observer` with a FreezeReport after each image the backend reports taken."""
        self._freeze_observers.append(observer)

    def report_freeze(
        self, operation: str, subject_id: str, members: int, verdict: outcomes.Verdict
    ) -> None:
        """Log how the image of `subject_id` was taken, and tell the observers (if the backend
        reported it)."""
        if verdict.freeze is None:
            return
        report = FreezeReport(operation, subject_id, verdict.freeze, members, verdict.failed)
        log_freeze(report)
        for observer in list(self._freeze_observers):
            try:
                observer(report)
            except Exception:  # an observer must never break an RPC
                log.exception("freeze observer failed")

    def journaled_create(
        self,
        kind: str,
        subject_id: str,
        member_ids: Sequence[str],
        call: Callable[[Journal], outcomes.Verdict],
    ) -> tuple[outcomes.Verdict, CohortError | None]:
        """Run a multi-step create under a new journal operation: the backend call's verdict,
        or `raised` if it raised (with the typed error, if cohort's); a failed create is rolled
        back (all or nothing)."""
        journal = Journal.begin(self.store, kind, subject_id)
        self.notify()
        error: CohortError | None = None
        try:
            verdict = call(journal)
        except Exception as exc:
            verdict = outcomes.raised(member_ids, str(exc))
            if isinstance(exc, FreezeExpired):
                verdict = replace(verdict, freeze=exc.record)
            error = exc if isinstance(exc, CohortError) else None
        if verdict.failed:
            self.roll_back(journal)
        else:
            journal.finish()
        return verdict, error

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

    @staticmethod
    def failure(exc: BaseException | None, message: str) -> CohortError:
        """The error a client gets for a failed backend call: the same code as the backend's
        typed error (no space stays RESOURCE_EXHAUSTED...), else BackendError (ABORTED)."""
        if isinstance(exc, CohortError) and not isinstance(exc, BackendError | ObjectBusy):
            try:
                return type(exc)(message)
            except TypeError:
                pass
        return BackendError(message)

    # -- capabilities ------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return derive(self.backend.stats(), self.policy, self.host)

    @staticmethod
    def hold_all(ticket: Ticket, kind: str, ids: Sequence[str], mode: Mode) -> None:
        for object_id in ids:
            ticket.hold(kind, object_id, mode)

    @staticmethod
    def insert_held(ticket: Ticket, repo: Repository[N], kind: str, records: Sequence[N]) -> None:
        """Insert new records (refusing names already taken) and hold each exclusively."""
        for record in records:
            if repo.by_name(record.name) is not None:
                raise AlreadyExists(f"{kind} {record.name} exists")
        for record in records:
            repo.add(record)
            ticket.hold(kind, record.id, Mode.EXCLUSIVE)

    @staticmethod
    def require_specs(pool: Pool, spec_map: Mapping[str, str], what: str) -> None:
        reasons = specs.mismatches(spec_map, pool.capabilities.flat())
        if reasons:
            raise FailedPrecondition(f"{what} does not match this backend: {'; '.join(reasons)}")

    def require_room(self, tx: Transaction, pool: Pool, size_bytes: int, what: str) -> None:
        """Capacity, atomic with the plan: the provisioned bytes are the store's volumes and
        snapshots (creates in flight included) plus the growth of extends in flight."""
        provisioned = (
            tx.volumes.total("size_bytes")
            + tx.snapshots.total("size_bytes")
            + self.reservations.growth()
        )
        stats = replace(pool.stats, provisioned_bytes=provisioned)
        check_room(stats, self.policy, size_bytes, what)

    def require_group_size(self, tx: Transaction, group: Group, adding: int, removing: int) -> None:
        """A group holds at most [backend] max_group_volumes volumes; a consistent group at
        most [freeze] max_group_volumes, so that its freeze fits the guard's deadline."""
        if group.consistent:
            limit, setting = self.policy.max_consistent_group_volumes, "[freeze]"
        else:
            limit, setting = self.policy.max_group_volumes, "[backend]"
        size = tx.volumes.count(group_id=group.id) + adding - removing
        if adding and size > limit:
            raise ResourceExhausted(
                f"group {group.name} would hold {size} volumes; at most {limit} "
                f"({setting} max_group_volumes)"
            )

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
