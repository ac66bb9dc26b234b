"""A call held inside its backend method, so that another can run while it holds what it
reserved: deterministic where a race is a matter of chance."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.answers import Answer, answer
from tests.exported import memory_targets
from tests.held import Hold
from tests.inprocess import Daemon
from tests.races.race import Racer, Side

#: How long a call may take to reach its hold, or to answer, before the test gives up on it.
PATIENCE = 30.0
#: How long a contender that waits for the holder is given to arrive before the holder goes on.
WAITER_PAUSE = 0.1
TARGETS = "targets."


@dataclass(frozen=True, slots=True)
class Case:
    """A call held in one of its methods while a contender runs."""

    holder: Side
    #: The method the holder is held in (as `holding` reads it).
    method: str
    contender: Side
    #: Ids the contender's BUSY may name; empty: the contender proceeds.
    busy_on: frozenset[str] = frozenset()


@contextmanager
def gate(obj: object, method: str) -> Iterator[Hold]:
    """The first call to `obj`'s `method` is held (before it does anything) until the Hold is
    released; later calls pass. The method is restored at the end."""
    hold = Hold()
    original = getattr(obj, method)
    first = threading.Lock()

    def held(*args: Any, **kwargs: Any) -> Any:
        if first.acquire(blocking=False):
            hold.here()
        return original(*args, **kwargs)

    setattr(obj, method, held)
    try:
        yield hold
    finally:
        hold.release()
        delattr(obj, method)


def holding(daemon: Daemon, method: str) -> tuple[object, str]:
    """Where `method` is: "targets.<name>" is the in-memory target's, any other the sim's."""
    if method.startswith(TARGETS):
        return memory_targets(daemon.manager), method.removeprefix(TARGETS)
    return daemon.sim, method


def while_held(
    racer: Racer, holder: Side, method: str, contender: Side, *, waits: bool = False
) -> tuple[Answer, Answer]:
    """Run `holder` on the first channel until it is inside `method` (as `holding` reads it),
    then `contender` on the second; the holder is let go once the contender has answered, or,
    for a contender that `waits` for the holder, shortly after it was sent. Both answers."""
    answers: dict[int, Answer] = {}

    def run(index: int, side: Side) -> None:
        stubs = racer.stubs[index]
        answers[index] = answer(lambda: side.call(stubs))

    with gate(*holding(racer.world.daemon, method)) as held:
        first = threading.Thread(target=run, args=(0, holder))
        first.start()
        assert held.entered.wait(timeout=PATIENCE), f"{holder.operation} never reached {method}"
        second = threading.Thread(target=run, args=(1, contender))
        second.start()
        if waits:
            time.sleep(WAITER_PAUSE)  # not a measurement: lets the waiter arrive and wait
        else:
            second.join(timeout=PATIENCE)
        held.release()
        for thread in (first, second):
            thread.join(timeout=PATIENCE)
    assert len(answers) == 2, f"no answer from {sorted(set(range(2)) - set(answers))}"
    return answers[0], answers[1]
