"""What the manager reports of each freeze: one structured log line, and a `FreezeReport` to
the observers the daemon registers (its Prometheus metrics: the manager knows no metrics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from cohort.domain.model import FreezeRecord

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FreezeReport:
    """How one group snapshot's or group clone's image was taken."""

    #: The journal's kind of the operation: create_group_snapshot or create_group_from_src.
    operation: str
    #: The group snapshot's id, or the new group's.
    subject_id: str
    record: FreezeRecord
    members: int
    #: The operation failed (its image is not committed).
    failed: bool

    @property
    def max_stall_seconds(self) -> float:
        return max(self.record.stalls.values(), default=0.0)

    @property
    def mean_stall_seconds(self) -> float:
        stalls = self.record.stalls
        return sum(stalls.values()) / len(stalls) if stalls else 0.0


FreezeObserver = Callable[[FreezeReport], None]


def log_freeze(report: FreezeReport) -> None:
    subject = "group_snapshot_id" if report.operation == "create_group_snapshot" else "group_id"
    log.info(
        "freeze",
        operation=report.operation,
        **{subject: report.subject_id},
        path=report.record.path.value,
        window_seconds=report.record.window_seconds,
        max_stall_seconds=report.max_stall_seconds,
        mean_stall_seconds=report.mean_stall_seconds,
        members=report.members,
        failed=report.failed,
    )
