"""Showing that calls proceed while another is held at a chosen point (no stopwatch)."""

from __future__ import annotations

import threading
from collections.abc import Callable

WAIT = 10.0


class Hold:
    """A point where a call is held: `here()` (patched in where the call should stop) blocks until
    `release()`; `entered` tells that someone is held."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._released = threading.Event()

    def here(self) -> None:
        self.entered.set()
        self._released.wait(3 * WAIT)

    def release(self) -> None:
        self._released.set()

    @property
    def released(self) -> bool:
        return self._released.is_set()


def proceeds_while_held(
    hold: Hold, slow: Callable[[], object], meanwhile: Callable[[], None]
) -> None:
    """Start `slow`; once it is held, run `meanwhile` to its end (re-raising what it raised) and
    assert that it finished while `slow` was still held; then release `slow` and wait for it."""
    failures: list[BaseException] = []

    def run(fn: Callable[[], object]) -> None:
        try:
            fn()
        except BaseException as exc:
            failures.append(exc)

    held = threading.Thread(target=run, args=(slow,))
    held.start()
    try:
        assert hold.entered.wait(WAIT), "the call never reached its hold"
        worker = threading.Thread(target=run, args=(meanwhile,))
        worker.start()
        worker.join(WAIT)
        assert not worker.is_alive(), "the other calls waited for the held one"
        assert not hold.released
    finally:
        hold.release()
        held.join(WAIT)
    if failures:
        raise failures[0]
