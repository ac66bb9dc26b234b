"""The journal of multi-step operations (STYLE practice 7).

Before a multi-step backend call the manager opens an Operation in the store; the backend runs
every batch of steps that leave something behind through `Journal.run_batch`, which records the
batch's steps (one commit, however many) before they run and marks them done (one commit) after.
A failed create is rolled back by reverting the recorded steps newest first; after a crash,
`recover` in the manager does the same from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import structlog

from cohort.domain.backend import Backend, Step
from cohort.domain.model import Operation, OperationState, StepRecord, StepState, now
from cohort.domain.store import Store

T = TypeVar("T")
log = structlog.get_logger(__name__)


class Journal:
    """A StepRecorder bound to one operation."""

    def __init__(self, store: Store, operation: Operation) -> None:
        self._store = store
        self.operation = operation

    @classmethod
    def begin(cls, store: Store, kind: str, subject_id: str) -> Journal:
        operation = Operation(kind=kind, subject_id=subject_id)
        with store.transaction() as tx:
            tx.operations.add(operation)
        return cls(store, operation)

    def _save(self) -> None:
        self.operation.updated_at = now()
        with self._store.transaction() as tx:
            tx.operations.update(self.operation)

    def run_batch(self, steps: Sequence[Step], fn: Callable[[], T]) -> T:
        """Record every step as about to run (one commit), run `fn`, mark them done (one
        commit). If `fn` raises, the steps stay recorded for `rollback` or recovery."""
        first = len(self.operation.steps) + 1
        records = [
            StepRecord(seq=first + i, action=step.action, params=dict(step.params))
            for i, step in enumerate(steps)
        ]
        self.operation.steps.extend(records)
        self._save()
        result = fn()
        for record in records:
            record.state = StepState.DONE
        self._save()
        return result

    def rollback(self, backend: Backend) -> None:
        """Revert every recorded step, newest first, then close the operation (one commit: the
        reverts are idempotent, so a crash before it only repeats them at the next start). A
        revert that fails leaves the operation open with the steps reverted so far marked (it is
        retried at the next start), and re-raises."""
        try:
            for record in reversed(self.operation.steps):
                if record.state is StepState.REVERTED:
                    continue
                backend.revert(Step(record.action, record.params))
                record.state = StepState.REVERTED
        except BaseException:
            self._save()
            raise
        self.finish(OperationState.ROLLED_BACK)

    def finish(self, state: OperationState = OperationState.DONE) -> None:
        """Close the operation: the journal keeps only operations still under way."""
        log.debug(
            "operation finished",
            operation=self.operation.kind,
            subject=self.operation.subject_id,
            state=state.value,
            steps=len(self.operation.steps),
        )
        with self._store.transaction() as tx:
            tx.operations.remove(self.operation.id)
