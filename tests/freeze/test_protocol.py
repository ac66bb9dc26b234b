"""The freeze protocol against fake gates and the in-process guard."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.domain.model import FreezePath
from cohort.errors import BackendError
from cohort.freeze.fakes import FakeGates, LocalGuard
from cohort.freeze.protocol import Freeze, FreezeExpired, NoHooks


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


class RecordingHooks(NoHooks):
    def __init__(self) -> None:
        self.steps: list[str] = []

    def at(self, step: str, subject_id: str) -> None:
        self.steps.append(step)


def members(n: int) -> list[str]:
    return [f"v{i}" for i in range(n)]


def freeze(gates: FakeGates, deadline: float = 60.0, hooks: NoHooks | None = None) -> Freeze:
    return Freeze(gates, LocalGuard(gates), deadline, hooks or NoHooks(), Clock())


def check_order(events: Sequence[tuple[str, str]], taken: Sequence[str], n: int) -> None:
    """Every suspend precedes every resume; each gate resumes right after its own image."""
    suspends = [i for i, (op, _) in enumerate(events) if op == "suspend"]
    resumes = [i for i, (op, _) in enumerate(events) if op == "resume"]
    assert len(suspends) == n
    assert max(suspends) < min(resumes)
    assert [v for op, v in events if op == "resume"][:n] == list(taken)


@given(st.integers(min_value=1, max_value=12))
def test_all_suspended_before_any_resume_and_progressive_thaw(n: int) -> None:
    gates = FakeGates()
    taken: list[str] = []

    def take(m: str) -> None:
        assert gates.suspended == {f"v{i}" for i in range(len(taken), n)}
        taken.append(m)

    record = freeze(gates).run("gs", members(n), take)
    check_order(gates.events, taken, n)
    assert gates.suspended == set()
    assert record.path is FreezePath.FREEZE
    assert set(record.stalls) == set(taken)
    stalls = [record.stalls[v] for v in taken]
    assert stalls == sorted(stalls)  # a later member waits for the images before its own
    assert all(s <= record.window_seconds for s in stalls)


def test_steps_are_reported_in_order() -> None:
    hooks = RecordingHooks()
    freeze(FakeGates(), hooks=hooks).run("gs", members(3), lambda m: None)
    assert hooks.steps == ["armed", "frozen", "snapshotting", "thawed", "committed"]


def test_a_failed_image_resumes_every_gate_and_fails() -> None:
    gates = FakeGates()

    def take(m: str) -> None:
        if m == "v2":
            raise BackendError("lvcreate failed")

    with pytest.raises(BackendError, match="lvcreate failed"):
        freeze(gates).run("gs", members(5), take)
    assert gates.suspended == set()


def test_a_failed_suspend_resumes_those_suspended() -> None:
    gates = FakeGates(fail_suspend={"v3"})
    with pytest.raises(BackendError, match="suspend failed"):
        freeze(gates).run("gs", members(5), lambda m: None)
    assert gates.suspended == set()
    assert ("suspend", "v4") not in gates.events


def test_past_the_deadline_no_further_image_is_started() -> None:
    gates = FakeGates()
    taken: list[str] = []
    # The fake clock advances 0.5 s per reading: 5 suspends + readings pass a 4 s deadline.
    with pytest.raises(FreezeExpired, match="deadline"):
        freeze(gates, deadline=4.0).run("gs", members(5), lambda m: taken.append(m))
    assert len(taken) < 5
    assert gates.suspended == set()


def test_the_guard_fired_means_nothing_is_committed() -> None:
    """The guard's deadline passes while an image is being taken: it resumes every gate, and
    the handshake then refuses the commit."""
    gates = FakeGates()
    fired = threading.Event()

    guard = LocalGuard(gates)
    f = Freeze(gates, guard, 0.05, NoHooks())

    def take(m: str) -> None:
        if m == "v0":
            for _ in range(200):
                if not gates.suspended:
                    fired.set()
                    return
                threading.Event().wait(0.05)

    with pytest.raises(FreezeExpired, match="guard"):
        f.run("gs", members(1), take)
    assert fired.is_set()
    assert gates.suspended == set()


def test_a_volume_named_twice_is_refused_before_anything() -> None:
    gates = FakeGates()
    with pytest.raises(BackendError, match="twice"):
        freeze(gates).run("gs", ["v", "v"], lambda m: None)
    assert gates.events == []


def test_past_the_deadline_before_the_first_suspend_nothing_is_suspended() -> None:
    """Held (or stopped) between the guard's arm and the first suspend until the deadline: the
    guard has fired already and would not thaw gates suspended now, so none is."""
    gates = FakeGates()
    clock = Clock()

    class Late(NoHooks):
        def at(self, step: str, subject_id: str) -> None:
            if step == "armed":
                clock.now += 60.0

    with pytest.raises(FreezeExpired, match="with 0 of 3 gates suspended"):
        Freeze(gates, LocalGuard(gates), 10.0, Late(), clock).run("gs", members(3), print)
    assert not [op for op, _ in gates.events if op == "suspend"]
