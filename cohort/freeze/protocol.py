"""The freeze protocol: one write-order-consistent image of a group's volumes.

Order, and why:
1. **Arm the guard** (`ports.Guard`) with the deadline, before anything is suspended: from now on
   a process outside cohortd resumes every gate at the deadline, or at once if cohortd's
   connection drops, whatever happens to cohortd.
2. **Suspend every gate** (device-mapper suspend flushes the gate's in-flight I/O). No gate is
   resumed before every gate is suspended: a write that completed on one volume before the
   freeze is in every image, and a write issued after it waits, on every volume.
3. **Take the images, member by member**, and resume each member's gate as soon as its own image
   exists (progressive thaw): a volume's I/O waits only for the images up to its own. Past the
   deadline no further image is started (the guard has resumed the gates: later images could be
   torn, and the call can only fail).
4. **Disarm the guard** (the commit handshake). True: the guard had not fired and now never will,
   so every image was taken under the freeze and may be committed. False: the guard fired and
   resumed gates early; the images may be torn and the caller must fail (its journal then
   removes them).

On any error every gate this freeze suspended is resumed before the error propagates. What runs
inside the window is only the suspend/resume calls and the `take` calls; everything else (plans,
journal records, argv, warming the LVM process) happens before `run`, and statuses and backups
after it.

`Hooks` lets a test hold the protocol at a named step (`cohort.freeze.hooks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from cohort.domain.model import FreezePath, FreezeRecord
from cohort.errors import BackendError
from cohort.freeze.ports import Armed, GateControl, Guard

log = structlog.get_logger("cohort.freeze")

#: The protocol's steps, in order, as test hooks name them.
STEPS = ("armed", "frozen", "snapshotting", "thawed", "committed")


class FreezeExpired(BackendError):
    """The guard resumed the gates before every image was taken: nothing may be committed.
    `record` holds the window and stalls as far as they went (the failed call records them)."""

    def __init__(self, message: str, record: FreezeRecord | None = None) -> None:
        super().__init__(message)
        self.record = record


class Hooks(Protocol):
    def at(self, step: str, subject_id: str) -> None:
        """Called at each step of STEPS; a test hook may hold the protocol there."""
        ...

    def freeze_off(self) -> bool:
        """True: consistent groups take the plain path (a test proving it sees torn images)."""
        ...


class NoHooks:
    def at(self, step: str, subject_id: str) -> None:
        return None

    def freeze_off(self) -> bool:
        return False


@dataclass(slots=True)
class Freeze:
    gates: GateControl
    guard: Guard
    deadline_seconds: float
    hooks: Hooks
    clock: Callable[[], float] = time.monotonic

    def run(
        self, subject_id: str, members: Sequence[str], take: Callable[[str], object]
    ) -> FreezeRecord:
        """Freeze the gates of `members` (volume ids), `take` each one's image in that order,
        thaw; see the module doc."""
        if not members:
            return FreezeRecord(FreezePath.FREEZE)
        ids = list(members)
        if len(set(ids)) != len(ids):
            raise BackendError(f"freeze {subject_id}: a volume is named twice")
        # The deadline counts from before the guard's arm, so it never falls after the guard's.
        deadline = self.clock() + self.deadline_seconds
        armed = self.guard.arm(subject_id, ids, self.deadline_seconds)
        try:
            self.hooks.at("armed", subject_id)
            record = self._window(subject_id, members, take, armed, deadline)
        finally:
            armed.close()
        return record  # the manager logs it, with the call's outcome (cohort.manager.freezes)

    def _window(
        self,
        subject_id: str,
        members: Sequence[str],
        take: Callable[[str], object],
        armed: Armed,
        deadline: float,
    ) -> FreezeRecord:
        suspended: dict[str, float] = {}
        stalls: dict[str, float] = {}
        start = self.clock()
        try:
            for number, member in enumerate(members):
                if self.clock() >= deadline:  # the guard fired: it would not thaw this gate
                    raise FreezeExpired(
                        f"freeze {subject_id}: deadline of {self.deadline_seconds:g} s passed "
                        f"with {number} of {len(members)} gates suspended"
                    )
                self.gates.suspend(member)
                suspended[member] = self.clock()
            self.hooks.at("frozen", subject_id)
            for number, member in enumerate(members):
                if self.clock() >= deadline:
                    self._resume_all(subject_id, suspended, stalls)
                    raise FreezeExpired(
                        f"freeze {subject_id}: deadline of {self.deadline_seconds:g} s passed "
                        f"after {number} of {len(members)} images; the gates were resumed",
                        FreezeRecord(FreezePath.FREEZE, self.clock() - start, stalls),
                    )
                take(member)
                self.gates.resume(member)
                stalls[member] = self.clock() - suspended.pop(member)
                if number == 0:
                    self.hooks.at("snapshotting", subject_id)
        finally:
            self._resume_all(subject_id, suspended, stalls)
        record = FreezeRecord(FreezePath.FREEZE, self.clock() - start, stalls)
        self.hooks.at("thawed", subject_id)
        if not armed.disarm():
            raise FreezeExpired(
                f"freeze {subject_id}: the guard resumed the gates at the deadline of "
                f"{self.deadline_seconds:g} s before the images were committed",
                record,
            )
        self.hooks.at("committed", subject_id)
        return record

    def _resume_all(
        self, subject_id: str, suspended: dict[str, float], stalls: dict[str, float]
    ) -> None:
        """Resume every gate still suspended (an error path), noting its stall; each is tried
        whatever the others do, and the first failure is raised after all were tried."""
        failure: Exception | None = None
        for volume_id in list(suspended):
            try:
                self.gates.resume(volume_id)
                stalls[volume_id] = self.clock() - suspended[volume_id]
            except Exception as exc:  # every gate must be tried
                log.error(
                    "gate resume failed", subject=subject_id, volume=volume_id, error=str(exc)
                )
                failure = failure or exc
        suspended.clear()
        if failure is not None:
            raise failure
