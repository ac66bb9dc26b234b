"""Two calls raced over gRPC, one channel each, released together by a barrier, and judged.

Of two conflicting calls exactly one proceeds. The other either ran while the first held what it
needed (BUSY: UNAVAILABLE with an ErrorInfo naming a contested object and the first call's
operation) or ran after the first had finished (the code the rules give for that order). A call
answered before the other was sent cannot have overlapped it: only that order's codes are legal.
Every other try the backend is slowed (the sim's `delay` fault), which widens the window in which
the two overlap; the tries without it let both orders happen.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from tests.answers import BUSY, OK, Answer, answer, busy_problems
from tests.inprocess import Stubs
from tests.races.world import World

#: How many times each pair is raced (COHORT_RACE_TRIES).
TRIES = int(os.environ.get("COHORT_RACE_TRIES", "20"))
#: The backend's delay on the slowed tries, seconds.
DELAY = 0.02


@dataclass(frozen=True, slots=True)
class Side:
    """One racer: the RPC's name (what a BUSY names as the holder) and the call on a stub."""

    operation: str
    call: Callable[[Stubs], Any]


@dataclass(frozen=True, slots=True)
class Rules:
    """The codes (a's, b's) when a ran to completion first, and when b did; the ids of the
    objects both need (a BUSY must name one of them; none: they never conflict)."""

    a_first: tuple[grpc.StatusCode, grpc.StatusCode]
    b_first: tuple[grpc.StatusCode, grpc.StatusCode]
    contested: frozenset[str] = frozenset()


def either_order(contested: Iterable[str]) -> Rules:
    """Two calls that both succeed whichever runs first, and conflict over `contested`."""
    return Rules(a_first=(OK, OK), b_first=(OK, OK), contested=frozenset(contested))


@dataclass(frozen=True, slots=True)
class Outcome:
    a: Answer
    b: Answer
    #: "a" or "b": the one that ran (or reserved) first; "" when the codes fit either order.
    first: str

    @property
    def busy(self) -> bool:
        return BUSY in (self.a.code, self.b.code)


def assert_order(outcome: Outcome, seen: object, a_first: object, b_first: object) -> None:
    """Both proceeded: what the store shows (`seen`) is what a-then-b leaves or what b-then-a
    leaves, and the one the answers' timing (or a BUSY) rules out is not it."""
    allowed = []
    if outcome.first != "b" and not outcome.b.before(outcome.a):
        allowed.append(a_first)
    if outcome.first != "a" and not outcome.a.before(outcome.b):
        allowed.append(b_first)
    assert seen in allowed, f"store shows {seen}; a first gives {a_first}, b first {b_first}"


def legal_outcomes(
    a: Answer, b: Answer, rules: Rules
) -> dict[tuple[grpc.StatusCode, grpc.StatusCode], str]:
    """The (a, b) codes allowed for these two answers' timing, each with who went first."""
    legal: dict[tuple[grpc.StatusCode, grpc.StatusCode], str] = {}
    if not b.before(a):
        legal[rules.a_first] = "a"
    if not a.before(b):
        legal[rules.b_first] = "" if legal.get(rules.b_first) == "a" else "b"
    if rules.contested and not a.before(b) and not b.before(a):
        legal[(OK, BUSY)] = "a"
        legal[(BUSY, OK)] = "b"
    return legal


class Racer:
    """Races pairs of calls on two channels of their own and keeps a tally of outcomes."""

    def __init__(self, target: str, world: World) -> None:
        self.world = world
        self.channels = [grpc.insecure_channel(target) for _ in range(2)]
        self.stubs = [Stubs(ch) for ch in self.channels]
        for ch in self.channels:
            grpc.channel_ready_future(ch).result(timeout=10)
        self.tally: Counter[str] = Counter()
        self._tries = 0

    def close(self) -> None:
        for ch in self.channels:
            ch.close()

    def race(self, a: Side, b: Side, rules: Rules) -> Outcome:
        """Race a against b; fail the test unless the outcome is legal and the invariant holds."""
        delay = DELAY if self._tries % 2 else 0.0
        self._tries += 1
        self.world.slow_backend(delay)
        try:
            first, second = self._both(a, b)
        finally:
            self.world.slow_backend(0)
        where = f"try {self._tries} (backend delay {delay}s): {a.operation} -> {first}; "
        where += f"{b.operation} -> {second}"
        legal = legal_outcomes(first, second, rules)
        codes = (first.code, second.code)
        assert codes in legal, f"{where}; legal: {sorted((x.name, y.name) for x, y in legal)}"
        outcome = Outcome(first, second, legal[codes])
        if outcome.busy:
            loser, winner = (first, b) if first.code is BUSY else (second, a)
            problems = busy_problems(loser, set(rules.contested), {winner.operation})
            assert not problems, f"{where}: {problems}"
        problems = self.world.problems()
        assert not problems, f"{where}: {problems}"
        self.tally[_label(outcome)] += 1
        return outcome

    def _both(self, a: Side, b: Side) -> tuple[Answer, Answer]:
        barrier = threading.Barrier(2)
        answers: list[Answer | None] = [None, None]

        def run(index: int, side: Side) -> None:
            stubs = self.stubs[index]
            barrier.wait(timeout=30)
            answers[index] = answer(lambda: side.call(stubs))

        threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate((a, b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        first, second = answers
        assert first is not None and second is not None, "a racer did not return (deadlock?)"
        return first, second


def _label(outcome: Outcome) -> str:
    if outcome.busy:
        return f"{outcome.first} won, other BUSY"
    return f"{outcome.first} first" if outcome.first else "either order"
