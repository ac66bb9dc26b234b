"""The capability broadcaster: one current view of the host's capabilities with a generation
that increases by one on every change of content, and a condition variable that wakes the
watchers (WatchCapabilities streams, upstream reporters) when it may have changed.

The manager's subscribe callback only marks the view stale (`notify`); the capabilities are
recomputed outside the manager's call by whoever asks next, so the callback never calls back
into the manager.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cohort.domain.capabilities import Capabilities
from cohort.domain.model import now


@dataclass(frozen=True, slots=True)
class Published:
    capabilities: Capabilities
    generation: int
    updated_at: datetime


class Broadcaster:
    def __init__(self, source: Callable[[], Capabilities]) -> None:
        self._source = source
        self._cond = threading.Condition()
        self._refresh = threading.Lock()  # one recomputation at a time
        self._stale = True
        self._closed = False
        self._current: Published | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def notify(self) -> None:
        """Something changed (the manager's subscribe callback): recompute on the next look."""
        with self._cond:
            self._stale = True
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiter so it re-checks its own stop condition (e.g. a client went away)."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """The server is stopping: every waiter returns None from now on."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def current(self, refresh: bool = False) -> Published:
        """The current view, recomputed when stale (or when `refresh`: periodic polling catches
        changes the manager does not see, such as thin-pool usage)."""
        with self._refresh:
            with self._cond:
                stale, self._stale = self._stale or refresh, False
                published = self._current
            if published is not None and not stale:
                return published
            try:
                caps = self._source()
            except BaseException:
                with self._cond:
                    self._stale = True  # try again on the next look
                raise
            with self._cond:
                if self._current is None or caps != self._current.capabilities:
                    generation = self._current.generation + 1 if self._current else 1
                    self._current = Published(caps, generation, now())
                    self._cond.notify_all()
                return self._current

    def wait(
        self,
        seen_generation: int,
        timeout: float,
        stop: Callable[[], bool] = lambda: False,
    ) -> Published | None:
        """Block until the generation differs from `seen_generation` or `timeout` seconds have
        passed, and return the current view (refreshed on timeout). None when the broadcaster
        closed or `stop()` became true (call `wake()` after making it true)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                while not self._closed and not stop() and not self._stale:
                    if self._current is not None and self._current.generation != seen_generation:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._closed or stop():
                    return None
            timed_out = time.monotonic() >= deadline
            published = self.current(refresh=timed_out)
            if timed_out or published.generation != seen_generation:
                return published
