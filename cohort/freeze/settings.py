"""The operator's freeze settings: cohortd's `[freeze]` config section, handed to the manager
(the size rule for consistent groups) and to the backend (the guard and its deadline)."""

from __future__ import annotations

from dataclasses import dataclass

#: A deadline at or above this is refused at start: a frozen gate holds its writers' I/O for up
#: to the deadline, which belongs well below an initiator's command timeout (30 s for a Linux
#: SCSI disk by default); a minute or more is a mistake (milliseconds written as seconds).
MAX_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class FreezeSettings:
    #: The guard resumes every gate of a freeze this long after it was armed.
    deadline_seconds: float = 10.0
    #: The most volumes a consistent group may hold, so that a full group's freeze fits the
    #: deadline with margin (RESOURCE_EXHAUSTED beyond). Measured in the emulated guest under
    #: the ordered writer (bench/freeze.py): about 0.37 s per member's snapshot inside the
    #: window (8 members: 2.10-3.07 s), so 12 members take about 4.5 s, half the default
    #: deadline. Real hardware is faster; raise it with the deadline's margin in mind.
    max_group_volumes: int = 12
    #: The unix socket of `cohort-guard`.
    guard_socket: str = "/run/cohort-guard/guard.sock"
    #: Test only: a directory of hook files read at each freeze; empty turns the hooks off.
    test_hooks_dir: str = ""


#: The settings of a `cohortd.toml` without a `[freeze]` section.
DEFAULT_FREEZE = FreezeSettings()
