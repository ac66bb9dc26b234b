"""The manager keeps what the backend reports of a freeze: on the group snapshot, on a clone of
a group, in one log line, and to its freeze observers."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

import pytest
from structlog.testing import capture_logs

from cohort.domain.model import FreezePath, FreezeRecord, GroupStatus, SnapshotStatus
from cohort.errors import BackendError
from cohort.freeze.protocol import FreezeExpired
from cohort.manager import Manager
from cohort.manager.freezes import FreezeReport
from cohort.sim import FaultPlan, SimBackend
from tests.freezing import report_freeze

from .conftest import GIB

T = TypeVar("T")
CONSISTENT = {"consistent_group_snapshot_enabled": "<is> True"}


Install = Callable[[str, FreezeRecord], None]


@pytest.fixture
def freezing(sim: SimBackend, monkeypatch: pytest.MonkeyPatch) -> Install:
    """freezing("create_group_snapshot", record): the sim's method reports `record`."""
    return lambda method_name, record: report_freeze(monkeypatch, sim, method_name, record)


@pytest.fixture
def reports(manager: Manager) -> list[FreezeReport]:
    seen: list[FreezeReport] = []
    manager.observe_freezes(seen.append)
    return seen


def group_of_two(manager: Manager, specs: dict[str, str] = CONSISTENT) -> list[str]:
    manager.create_volume_type("t", "", specs)
    manager.create_group_type("gt", "", specs)
    manager.create_group("g", "", "gt", ["t"])
    return [manager.create_volume(f"v{i}", GIB, "t", group="g").id for i in range(2)]


def taken(
    manager: Manager, freezing: Install, method: str, take: Callable[[], T]
) -> tuple[FreezeRecord, T, MutableMapping[str, Any]]:
    """`take()` on a group of two whose backend `method` reports a freeze: the record, what
    `take` returned, and the one `freeze` log line."""
    a, b = group_of_two(manager)
    record = FreezeRecord(FreezePath.FREEZE, 0.05, {a: 0.04, b: 0.02})
    freezing(method, record)
    with capture_logs() as logs:
        made = take()
    (line,) = [entry for entry in logs if entry["event"] == "freeze"]
    return record, made, line


def test_a_group_snapshot_keeps_its_freeze_record(
    manager: Manager, reports: list[FreezeReport], freezing: Install
) -> None:
    record, gsnap, line = taken(
        manager, freezing, "create_group_snapshot", lambda: manager.create_group_snapshot("g", "gs")
    )
    assert gsnap.freeze == record
    assert manager.get_group_snapshot("gs").freeze == record
    assert manager.list_group_snapshots(10, "").items[0].freeze == record
    assert line == {
        "event": "freeze",
        "log_level": "info",
        "operation": "create_group_snapshot",
        "group_snapshot_id": gsnap.id,
        "path": "freeze",
        "window_seconds": 0.05,
        "max_stall_seconds": 0.04,
        "mean_stall_seconds": pytest.approx(0.03),
        "members": 2,
        "failed": False,
    }
    assert reports == [FreezeReport("create_group_snapshot", gsnap.id, record, 2, False)]


def test_a_failed_group_snapshot_keeps_its_freeze_record_too(
    manager: Manager, sim: SimBackend, reports: list[FreezeReport], freezing: Install
) -> None:
    group_of_two(manager)
    record = FreezeRecord(FreezePath.FREEZE, 10.2, {})
    freezing("create_group_snapshot", record)
    sim.set_faults(FaultPlan.parse({"create_group_snapshot": {"member_status": "error"}}))
    with pytest.raises(BackendError):
        manager.create_group_snapshot("g", "gs")
    stored = manager.get_group_snapshot("gs")
    assert stored.status is SnapshotStatus.ERROR and stored.freeze == record
    assert [(r.subject_id, r.failed) for r in reports] == [(stored.id, True)]
    assert reports[0].max_stall_seconds == reports[0].mean_stall_seconds == 0.0


def test_a_clone_of_a_group_keeps_its_freeze_record(
    manager: Manager, reports: list[FreezeReport], freezing: Install
) -> None:
    record, clone, line = taken(
        manager,
        freezing,
        "create_group_from_src",
        lambda: manager.create_group_from_source("clone", "", source_group="g"),
    )
    assert clone.status is GroupStatus.AVAILABLE and clone.freeze == record
    assert manager.get_group("clone").freeze == record
    assert manager.get_group("g").freeze is None  # the source's own record is untouched
    assert line["group_id"] == clone.id and line["operation"] == "create_group_from_src"
    assert reports == [FreezeReport("create_group_from_src", clone.id, record, 2, False)]


def test_a_plain_group_records_the_plain_path(
    manager: Manager, reports: list[FreezeReport]
) -> None:
    """The simulated backend reports how it took each image: the plain path for a plain group;
    a clone of a group snapshot takes no image of a group, so it records nothing."""
    group_of_two(manager, {})
    gsnap = manager.create_group_snapshot("g", "gs")
    from_snapshot = manager.create_group_from_source("c", "", group_snapshot=gsnap.id)
    clone = manager.create_group_from_source("c2", "", source_group="g")
    plain = FreezeRecord(FreezePath.PLAIN)
    assert gsnap.freeze == plain and clone.freeze == plain
    assert manager.get_group_snapshot("gs").freeze == plain
    assert from_snapshot.freeze is None
    assert [r.record for r in reports] == [plain, plain]


def test_a_consistent_group_records_its_freeze(manager: Manager) -> None:
    ids = group_of_two(manager)
    gsnap = manager.create_group_snapshot("g", "gs")
    clone = manager.create_group_from_source("c2", "", source_group="g")
    for record in (gsnap.freeze, clone.freeze):
        assert record is not None and record.path is FreezePath.FREEZE
        assert set(record.stalls) == set(ids)
        assert max(record.stalls.values()) <= record.window_seconds


def test_a_failing_observer_never_breaks_the_call(manager: Manager, freezing: Install) -> None:
    group_of_two(manager)
    record = FreezeRecord(FreezePath.PLAIN)
    freezing("create_group_snapshot", record)

    def broken(report: FreezeReport) -> None:
        raise RuntimeError("observer")

    manager.observe_freezes(broken)
    assert manager.create_group_snapshot("g", "gs").freeze == record


def test_a_freeze_the_guard_cut_short_is_recorded_on_the_failed_snapshot(
    manager: Manager, sim: SimBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard fired: the group snapshot ends in error, keeping the window it had."""
    a, b = group_of_two(manager)
    record = FreezeRecord(FreezePath.FREEZE, 11.0, {a: 10.5, b: 11.0})

    def expired(*args: Any, **kwargs: Any) -> Any:
        raise FreezeExpired("the guard resumed the gates", record)

    monkeypatch.setattr(sim, "create_group_snapshot", expired)
    with pytest.raises(BackendError, match="guard"):
        manager.create_group_snapshot("g", "gs")
    gsnap = manager.get_group_snapshot("gs")
    assert gsnap.status is SnapshotStatus.ERROR
    assert gsnap.freeze == record
