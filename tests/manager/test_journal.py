"""The journal itself: a batch of steps is one commit before the work and one after, whatever
its size; a failed batch stays recorded; a rollback reverts newest first and keeps its progress
when a revert fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from cohort.domain.backend import Step
from cohort.domain.model import Operation, StepState
from cohort.manager.journal import Journal
from cohort.sim import SimBackend
from cohort.store import SqlStore
from cohort.store.sql import SqlTransaction
from tests.sim.helpers import make_group, make_group_snapshot, make_volume, snapshots_of


class CountingStore(SqlStore):
    """An in-memory store that counts its write transactions."""

    writes = 0

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[SqlTransaction]:
        self.writes += not readonly
        with super().transaction(readonly=readonly) as tx:
            yield tx


@pytest.fixture
def store() -> Iterator[CountingStore]:
    s = CountingStore("sqlite://")
    s.create_all()
    yield s
    s.close()


def stored(store: SqlStore, journal: Journal) -> Operation | None:
    with store.transaction(readonly=True) as tx:
        return tx.operations.get(journal.operation.id)


def states(store: SqlStore, journal: Journal) -> list[StepState]:
    operation = stored(store, journal)
    assert operation is not None
    return [s.state for s in operation.steps]


STEPS = [Step("sim.create_snapshot", {"snapshot_id": f"s{i}"}) for i in range(3)]


def test_a_batch_is_on_record_before_its_work_and_done_after(store: CountingStore) -> None:
    journal = Journal.begin(store, "create_group_snapshot", "gs")
    before = store.writes
    assert journal.run_batch(STEPS, lambda: states(store, journal)) == [StepState.PLANNED] * 3
    assert states(store, journal) == [StepState.DONE] * 3
    assert store.writes - before == 2
    journal.run_batch(STEPS[:1], lambda: None)
    operation = stored(store, journal)
    assert operation is not None and [s.seq for s in operation.steps] == [1, 2, 3, 4]


def test_a_failed_batch_stays_recorded_for_the_rollback(store: CountingStore) -> None:
    sim = SimBackend(1 << 30)
    journal = Journal.begin(store, "create_group_snapshot", "gs")

    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        journal.run_batch(STEPS, fail)
    assert states(store, journal) == [StepState.PLANNED] * 3
    before = store.writes
    journal.rollback(sim)
    assert stored(store, journal) is None
    assert store.writes - before == 1  # the reverts are marked by closing the operation


def test_a_failed_revert_keeps_the_progress_and_the_operation(store: CountingStore) -> None:
    sim = SimBackend(1 << 30)
    journal = Journal.begin(store, "create_group_snapshot", "gs")
    bad = Step("sim.unknown", {})
    journal.run_batch([bad, *STEPS], lambda: None)
    with pytest.raises(Exception, match="cannot revert"):
        journal.rollback(sim)
    assert states(store, journal) == [StepState.DONE] + [StepState.REVERTED] * 3


def test_a_thousand_member_group_snapshot_is_four_commits(store: CountingStore) -> None:
    sim = SimBackend(1 << 40)
    volumes = [make_volume(sim, name=f"v{i}") for i in range(1000)]
    group_snapshot = make_group_snapshot(make_group(consistent=False))
    journal = Journal.begin(store, "create_group_snapshot", group_snapshot.id)
    sim.create_group_snapshot(group_snapshot, snapshots_of(volumes, group_snapshot), journal)
    assert states(store, journal) == [StepState.DONE] * 1000
    journal.finish()
    assert store.writes == 4  # begin, recorded, done, finish
    assert len(sim.snapshot_ids()) == 1000
