"""An in-memory journal for backend tests: a `StepRecorder` that keeps the steps it was given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from cohort.domain.backend import Backend, Step

T = TypeVar("T")


class Recorder:
    """A journal as the manager keeps it: a batch's steps are recorded before it runs, marked
    done after it returned. `batches` counts the batches (the manager's store commits / 2)."""

    def __init__(self) -> None:
        self.recorded: list[Step] = []
        self.done: list[Step] = []
        self.batches = 0

    def run_batch(self, steps: Sequence[Step], fn: Callable[[], T]) -> T:
        self.batches += 1
        self.recorded.extend(steps)
        result = fn()
        self.done.extend(steps)
        return result

    def rollback(self, backend: Backend) -> None:
        """What the manager does after a failed create (or a crash): revert newest first."""
        for step in reversed(self.recorded):
            backend.revert(step)
