"""The journal of multi-step operations (STYLE practice 7).

Before a multi-step backend call the manager opens an Operation in the store; the backend runs
every step that leaves something behind through `Journal.run`, which records the step (committed)
before it runs and marks it done after. A failed create is rolled back by reverting the recorded
steps newest first; after a crash, `recover` in the manager does the same from the store.
"""

from __future__ import annotations

from collections.abc import Callable
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

    def run(self, step: Step, fn: Callable[[], T]) -> T:
        record = StepRecord(
            seq=len(self.operation.steps) + 1, action=step.action, params=dict(step.params)
        )
        self.operation.steps.append(record)
        self._save()
        result = fn()
        record.state = StepState.DONE
        self._save()
        return result

    def rollback(self, backend: Backend) -> None:
        """Revert every recorded step, newest first, then close the operation. A revert that
        fails leaves the operation open (it is retried at the next start) and re-raises."""
        for record in reversed(self.operation.steps):
            if record.state is StepState.REVERTED:
                continue
            backend.revert(Step(record.action, record.params))
            record.state = StepState.REVERTED
            self._save()
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
