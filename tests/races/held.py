"""A call held inside its backend method, so that another can run while it holds what it
reserved: deterministic where a race is a matter of chance."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cohort.sim import SimBackend
from tests.answers import Answer, answer
from tests.races.race import Racer, Side

#: How long a held call or a waiting contender may take before the test gives up on it.
PATIENCE = 30.0
#: How long a contender that waits for the holder is given to arrive before the holder goes on.
WAITER_PAUSE = 0.1


class Gate:
    """Wraps one method of the sim: the first call to it says it has entered, then waits to be
    let go; later calls pass."""

    def __init__(self, sim: SimBackend, method: str) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = getattr(sim, method)
        first = threading.Lock()

        def held(*args: Any, **kwargs: Any) -> Any:
            if first.acquire(blocking=False):
                self.entered.set()
                self.release.wait(timeout=PATIENCE)
            return original(*args, **kwargs)

        setattr(sim, method, held)


@contextmanager
def gate(sim: SimBackend, method: str) -> Iterator[Gate]:
    held = Gate(sim, method)
    try:
        yield held
    finally:
        held.release.set()
        delattr(sim, method)


def while_held(
    racer: Racer, holder: Side, method: str, contender: Side, *, waits: bool = False
) -> tuple[Answer, Answer]:
    """Run `holder` on the first channel until it is inside the sim's `method`, then
    `contender` on the second; the holder is let go once the contender has answered, or, for a
    contender that `waits` for the holder, shortly after it was sent. Both answers."""
    answers: dict[int, Answer] = {}

    def run(index: int, side: Side) -> None:
        stubs = racer.stubs[index]
        answers[index] = answer(lambda: side.call(stubs))

    with gate(racer.world.daemon.sim, method) as held:
        first = threading.Thread(target=run, args=(0, holder))
        first.start()
        assert held.entered.wait(timeout=PATIENCE), f"{holder.operation} never reached {method}"
        second = threading.Thread(target=run, args=(1, contender))
        second.start()
        if waits:
            time.sleep(WAITER_PAUSE)  # not a measurement: lets the waiter arrive and wait
        else:
            second.join(timeout=PATIENCE)
        held.release.set()
        for thread in (first, second):
            thread.join(timeout=PATIENCE)
    assert len(answers) == 2, f"no answer from {sorted(set(range(2)) - set(answers))}"
    return answers[0], answers[1]
