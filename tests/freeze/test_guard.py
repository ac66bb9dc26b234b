"""The deadline guard and its client, in-process on a temporary unix socket with a fake resume:
the commit handshake (disarm xor fire), deadlines, disconnects, bad input, many freezes."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import pytest

from cohort.errors import BackendError
from cohort.freeze.guard import Guard, thaw_all
from cohort.freeze.guard_client import GuardClient, GuardUnavailable

from .guard_server import WAIT, RawClient, Resumes, gate, running_guard, scripted_guard


@pytest.fixture
def resumes() -> Resumes:
    return Resumes()


@pytest.fixture
def served(resumes: Resumes) -> Iterator[tuple[Guard, str]]:
    with running_guard(resumes) as served:
        yield served


def test_disarm_before_the_deadline_commits_and_never_fires(
    served: tuple[Guard, str], resumes: Resumes
) -> None:
    _, path = served
    armed = GuardClient(path).arm("f1", ["v1", "v2"], 0.3)
    assert armed.disarm() is True
    assert armed.disarm() is True  # asked again: the same verdict
    armed.close()
    time.sleep(0.6)  # past the deadline: nothing may fire (passes on a slow machine too)
    assert resumes.uuids == []


def test_deadline_fires_and_disarm_says_so(served: tuple[Guard, str], resumes: Resumes) -> None:
    _, path = served
    with GuardClient(path).arm("f1", ["v1", "v2"], 0.05) as armed:
        assert resumes.wait_for({gate(1), gate(2)})
        assert armed.disarm() is False
    assert armed.reason == "deadline"
    assert armed.fired_after is not None and armed.fired_after >= 0.05
    assert sorted(resumes.uuids) == [gate(1), gate(2)]


def test_closed_connection_fires_at_once(served: tuple[Guard, str], resumes: Resumes) -> None:
    _, path = served
    armed = GuardClient(path).arm("f1", ["v1"], 600)
    armed.close()
    assert resumes.wait_for({gate(1)})
    assert armed.disarm() is False and armed.reason == "lost"


def test_disarm_and_fire_never_both(served: tuple[Guard, str], resumes: Resumes) -> None:
    """Deadlines about as long as a round trip: each freeze ends one way only."""
    guard, path = served
    client = GuardClient(path)
    outcomes = {}
    for n in range(40):
        with client.arm(f"f{n}", [f"v{n}"], 0.001 * (n % 5 + 1)) as armed:
            outcomes[gate(n)] = armed.disarm()
    fired = {uuid for uuid, disarmed in outcomes.items() if not disarmed}
    assert resumes.wait_for(fired)
    guard.stop()  # would thaw anything still armed
    assert set(resumes.uuids) == fired and len(resumes.uuids) == len(fired)


def test_many_concurrent_freezes(served: tuple[Guard, str], resumes: Resumes) -> None:
    _, path = served
    client = GuardClient(path, timeout=WAIT)
    results: dict[int, bool] = {}

    def one(n: int) -> None:
        fires = n % 2 == 1
        with client.arm(f"f{n}", [f"v{n}a", f"v{n}b"], 0.05 if fires else 600) as armed:
            if fires:
                assert resumes.wait_for({gate(f"{n}a"), gate(f"{n}b")})
            results[n] = armed.disarm()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert results == {n: n % 2 == 0 for n in range(24)}
    fired = {gate(f"{n}{s}") for n in range(1, 24, 2) for s in "ab"}
    assert set(resumes.uuids) == fired and len(resumes.uuids) == len(fired)


def test_a_gate_armed_by_another_freeze_is_refused(served: tuple[Guard, str]) -> None:
    _, path = served
    client = GuardClient(path)
    with client.arm("f1", ["v1", "v2"], 600) as first:
        with pytest.raises(BackendError, match=r"refused freeze f2: gates armed by another"):
            client.arm("f2", ["v2"], 600)
        assert first.disarm() is True
    with client.arm("f3", ["v2"], 600) as third:
        assert third.disarm() is True


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"nonsense\n", "not a JSON object"),
        (b"[1, 2]\n", "not a JSON object"),
        (b"\n", "not a JSON object"),
        (b'{"op": "explode"}\n', "unknown op"),
        (b'{"op": "disarm", "freeze": "f"}\n', "no such freeze"),
        (b'{"op": "arm", "freeze": "f", "gates": ["/dev/sda"], "deadline": 1}\n', "gate UUIDs"),
        (b'{"op": "arm", "freeze": "f", "gates": [], "deadline": 1}\n', "gate UUIDs"),
        (b'{"op": "arm", "freeze": "", "gates": ["COHORT-GATE-a"], "deadline": 1}\n', "freeze"),
        (b'{"op": "arm", "freeze": "f", "gates": ["COHORT-GATE-a"], "deadline": -1}\n', "in (0"),
        (b'{"op": "arm", "freeze": "f", "gates": ["COHORT-GATE-a"], "deadline": true}\n', "number"),
        (b'{"op": "arm", "freeze": "f", "gates": ["COHORT-GATE-a"], "deadline": "5"}\n', "number"),
        (
            b'{"op": "arm", "freeze": "f", "gates": ["COHORT-GATE-a", "COHORT-GATE-a"], '
            b'"deadline": 1}\n',
            "repeat",
        ),
    ],
)
def test_bad_requests_get_an_error_and_the_connection_goes_on(
    served: tuple[Guard, str], resumes: Resumes, line: bytes, error: str
) -> None:
    _, path = served
    raw = RawClient(path)
    reply = raw.ask(line)
    assert reply is not None and reply["ok"] is False and error in str(reply["error"])
    arm = {"op": "arm", "freeze": "ok", "gates": [gate(1)], "deadline": 600}
    assert raw.ask(json.dumps(arm).encode() + b"\n") == {"ok": True}
    assert raw.ask(b'{"op": "arm", "freeze": "again", "gates": ["COHORT-GATE-x"], "deadline": 1}\n')
    assert raw.ask(b'{"op": "disarm", "freeze": "ok"}\n') == {"disarmed": True}
    raw.close()
    assert resumes.uuids == []


def test_a_line_too_long_ends_the_connection_and_fires(
    served: tuple[Guard, str], resumes: Resumes
) -> None:
    _, path = served
    raw = RawClient(path)
    arm = {"op": "arm", "freeze": "f", "gates": [gate(1)], "deadline": 600}
    assert raw.ask(json.dumps(arm).encode() + b"\n") == {"ok": True}
    with contextlib.suppress(OSError):  # the guard may close before all of it is sent
        raw.sock.sendall(b"x" * (2 << 20))
    assert resumes.wait_for({gate(1)})
    raw.close()


def test_firing_tolerates_missing_and_failing_gates() -> None:
    resume = Resumes(missing=frozenset({gate(1)}), failing=frozenset({gate(2)}))
    guard = Guard(resume)
    guard.start()
    freeze = guard.arm("f", [gate(1), gate(2), gate(3)], 600)
    guard.fire(freeze, "disconnect")
    assert resume.uuids == [gate(1), gate(2), gate(3)]
    fired = guard.disarm(freeze)
    assert fired is not None and fired.reason == "disconnect"
    guard.stop()


def test_stopping_the_guard_fires_armed_freezes(resumes: Resumes) -> None:
    with running_guard(resumes) as (guard, path):
        armed = GuardClient(path).arm("f", ["v1"], 600)
        guard.stop()
        assert resumes.uuids == [gate(1)]
        assert armed.disarm() is False and armed.reason == "guard-stopping"
        armed.close()


def test_unreachable_guard() -> None:
    path = "/nonexistent/guard.sock"
    with pytest.raises(GuardUnavailable, match=f"freeze guard unreachable at {path}"):
        GuardClient(path).arm("f", ["v1"], 1)


def test_a_guard_that_never_answers_arm_is_unavailable() -> None:
    with (
        scripted_guard([]) as path,
        pytest.raises(GuardUnavailable, match=r"unreachable at .*: timed out"),
    ):
        GuardClient(path, timeout=0.2).arm("f", ["v1"], 1)


def test_a_guard_that_never_answers_disarm_did_not_disarm() -> None:
    with scripted_guard([b'{"ok": true}\n']) as path:
        armed = GuardClient(path, timeout=0.2).arm("f", ["v1"], 1)
        assert armed.disarm() is False and armed.reason == "lost"
        assert armed.disarm() is False


def test_thaw_all_resumes_suspended_and_reports_failures() -> None:
    resume = Resumes(missing=frozenset({gate(2)}), failing=frozenset({gate(3)}))
    assert thaw_all(resume, lambda: [gate(1), gate(2)]) == 0
    assert thaw_all(resume, lambda: [gate(3)]) == 1
    assert resume.uuids == [gate(1), gate(2), gate(3)]

    def broken() -> list[str]:
        raise BackendError("dmsetup failed")

    assert thaw_all(resume, broken) == 1
