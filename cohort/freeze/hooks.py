"""Test-only hooks of the freeze, read from a directory at each step (off unless configured).

Set `[freeze] test_hooks_dir`; then, in that directory:
- `hold_at` holding "<step> <seconds>": at that step the daemon writes `reached` ("<step>
  <subject id>") and waits <seconds> before going on, so a test can act (signal cohortd, hold
  LVM's lock, look at the gates) at a known point of the protocol;
- `no_freeze` present: consistent groups take the plain path, to show that a test sees the torn
  images a freeze prevents.
Nothing here is reachable through the API.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import structlog

from cohort.freeze.protocol import STEPS

log = structlog.get_logger("cohort.freeze.hooks")


class DirHooks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def at(self, step: str, subject_id: str) -> None:
        try:
            wanted, seconds = (self.directory / "hold_at").read_text().split()
            hold = float(seconds)
        except (OSError, ValueError):
            return
        if wanted != step or wanted not in STEPS:
            return
        reached = self.directory / "reached"
        tmp = reached.with_suffix(".tmp")
        tmp.write_text(f"{step} {subject_id}\n")
        os.replace(tmp, reached)
        log.warning("test hook: holding the freeze", step=step, subject=subject_id, seconds=hold)
        time.sleep(hold)

    def freeze_off(self) -> bool:
        return (self.directory / "no_freeze").exists()
