"""In-process implementations of the freeze's ports, for the simulated backend and tests.

`FakeGates` keeps each gate's state and the order of every call; `LocalGuard` is the deadline
guard as a timer thread in the same process: the same handshake as `cohort-guard` (disarm and
fire are decided under one lock, so never both), but it dies with its process, which is why
the LVM backend uses the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from cohort.errors import BackendError
from cohort.freeze.ports import GateControl


@dataclass
class FakeGates:
    """Gates as flags. `events` lists ("suspend"|"resume", volume id) in call order."""

    suspended: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)
    fail_suspend: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def suspend(self, volume_id: str) -> None:
        with self._lock:
            if volume_id in self.fail_suspend:
                raise BackendError(f"gate {volume_id}: suspend failed (simulated)")
            if volume_id in self.suspended:
                raise BackendError(f"gate {volume_id} is suspended already")
            self.suspended.add(volume_id)
            self.events.append(("suspend", volume_id))

    def resume(self, volume_id: str) -> None:
        with self._lock:
            self.suspended.discard(volume_id)
            self.events.append(("resume", volume_id))


class _LocalArmed:
    def __init__(self, gates: GateControl, volume_ids: Sequence[str], deadline: float) -> None:
        self._gates = gates
        self._ids = list(volume_ids)
        self._lock = threading.Lock()
        self.state = "armed"
        self._timer = threading.Timer(deadline, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self.state != "armed":
                return
            self.state = "fired"
            for volume_id in self._ids:
                self._gates.resume(volume_id)

    def disarm(self) -> bool:
        with self._lock:
            if self.state == "armed":
                self.state = "disarmed"
                self._timer.cancel()
            return self.state == "disarmed"

    def close(self) -> None:
        self._timer.cancel()
        self._fire()


class LocalGuard:
    """`ports.Guard` as an in-process timer."""

    def __init__(self, gates: GateControl) -> None:
        self._gates = gates

    def arm(
        self, freeze_id: str, volume_ids: Sequence[str], deadline_seconds: float
    ) -> _LocalArmed:
        return _LocalArmed(self._gates, volume_ids, deadline_seconds)
