"""The freeze metrics: one count per image taken, the window and every gate's stall."""

from __future__ import annotations

from prometheus_client import REGISTRY

from cohort.daemon.metrics import observe_freeze
from cohort.domain.model import FreezePath, FreezeRecord
from cohort.manager.freezes import FreezeReport


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_freeze_counts_its_window_and_each_gates_stall() -> None:
    op = "create_group_snapshot"
    before = {
        "count": sample("cohort_freezes_total", operation=op, path="freeze", outcome="committed"),
        "windows": sample("cohort_freeze_window_seconds_count", operation=op),
        "window_sum": sample("cohort_freeze_window_seconds_sum", operation=op),
        "stalls": sample("cohort_gate_stall_seconds_count", operation=op),
        "fast_stalls": sample("cohort_gate_stall_seconds_bucket", operation=op, le="0.025"),
    }
    record = FreezeRecord(FreezePath.FREEZE, 0.5, {"a": 0.02, "b": 0.3, "c": 0.45})
    observe_freeze(FreezeReport(op, "gs", record, 3, failed=False))
    assert (
        sample("cohort_freezes_total", operation=op, path="freeze", outcome="committed")
        == before["count"] + 1
    )
    assert sample("cohort_freeze_window_seconds_count", operation=op) == before["windows"] + 1
    assert sample("cohort_freeze_window_seconds_sum", operation=op) == before["window_sum"] + 0.5
    assert sample("cohort_gate_stall_seconds_count", operation=op) == before["stalls"] + 3
    assert (
        sample("cohort_gate_stall_seconds_bucket", operation=op, le="0.025")
        == before["fast_stalls"] + 1
    )


def test_the_plain_path_is_counted_but_has_no_window() -> None:
    op = "create_group_from_src"
    count = sample("cohort_freezes_total", operation=op, path="plain", outcome="failed")
    windows = sample("cohort_freeze_window_seconds_count", operation=op)
    observe_freeze(FreezeReport(op, "g", FreezeRecord(FreezePath.PLAIN), 4, failed=True))
    assert sample("cohort_freezes_total", operation=op, path="plain", outcome="failed") == (
        count + 1
    )
    assert sample("cohort_freeze_window_seconds_count", operation=op) == windows
