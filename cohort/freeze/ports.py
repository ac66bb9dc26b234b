"""The two things a freeze drives, as small interfaces with a real and a fake implementation.

- `GateControl`: suspend and resume one volume's gate. Real: device-mapper ioctls on
  `/dev/mapper/control` (`cohort.lvm.dmioctl`); fake: `cohort.freeze.fakes.FakeGates`.
- `Guard`: the deadline guard, a process outside cohortd's cgroup that resumes every gate of a
  freeze at its deadline, or at once when cohortd's connection drops. Real:
  `cohort.freeze.guard_client.GuardClient` talking to `cohort-guard`; fake: an in-process timer.
  `arm` happens before the first gate is suspended; `Armed.disarm` is the commit handshake: True
  means the guard had not fired and never will for this freeze (the image may be committed);
  False means it fired (gates resumed early: the image may be torn and must end in error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class GateControl(Protocol):
    def suspend(self, volume_id: str) -> None:
        """Suspend the gate, flushing its in-flight I/O; raises if it cannot."""
        ...

    def resume(self, volume_id: str) -> None:
        """Resume the gate; a gate that is not suspended is resumed already."""
        ...


class Armed(Protocol):
    def disarm(self) -> bool:
        """Atomically: True if disarmed before the guard fired; False if it fired."""
        ...

    def close(self) -> None:
        """Release the connection; an armed freeze then fires at once."""
        ...


class Guard(Protocol):
    def arm(self, freeze_id: str, volume_ids: Sequence[str], deadline_seconds: float) -> Armed:
        """Arm the guard for the gates of `volume_ids`; raises (nothing suspended yet) if the
        guard cannot be reached."""
        ...
