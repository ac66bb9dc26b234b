"""The freeze on LVM: thin snapshots of a group's LVs under a freeze of their gates.

What runs where (the protocol itself is `cohort.freeze.protocol`):
- Before the window: cohort's LVM writer lock taken (no other cohort LVM write queues for the
  VG's lock behind the freeze), the gates held (no reload can thaw one), the VG's file lock seen
  free, and one `lvm` shell process started and warmed by a first cheap command.
- Inside it: the gates suspended by ioctl, then one `lvcreate -s` per member through the warm
  process, with `-An --noudevsync --ignoremonitoring` and the new LV not activated; each gate
  resumed as soon as its member's snapshot exists.
- After it: the VG's metadata backup (`vgcfgbackup`, skipped inside by `-An`); the caller then
  activates, extends and gates what it made (a clone of a group).

Each `lvcreate -s` suspends its thin origin *below* the gate for a moment (lvm2 has no command
that snapshots several LVs in one transaction); that is safe because the gates above are frozen
already and the host's LVM filter never lets LVM open a gate (`cohort.lvm.hygiene`).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import structlog

from cohort.domain.model import FreezeRecord
from cohort.errors import Busy
from cohort.freeze.protocol import Freeze
from cohort.lvm.dm import Gates
from cohort.lvm.lvm import Lvm
from cohort.lvm.run import CommandError, FlightRecorder
from cohort.lvm.session import LvmSession

log = structlog.get_logger("cohort.lvm.freeze")

#: lvm2's file locks (lvm.conf `global/locking_dir`): `V_<vg>` is the VG's, flock(2)ed.
LOCK_DIR = Path("/run/lock/lvm")
#: How long a freeze waits, before suspending anything, for another process to release the VG.
VG_WAIT_SECONDS = 30.0


class Session(AbstractContextManager["Session"], Protocol):
    """What a freeze needs of `LvmSession`: one command at a time, raising if it failed."""

    def command(self, argv: Sequence[str], timeout: float | None = None) -> object: ...


class LvmFreeze:
    def __init__(
        self,
        lvm: Lvm,
        gates: Gates,
        freezer: Freeze,
        recorder: FlightRecorder,
        *,
        command_timeout: float = 120.0,
        lock_dir: Path = LOCK_DIR,
        session: Callable[[], Session] | None = None,
    ) -> None:
        self.lvm = lvm
        self.gates = gates
        self.freezer = freezer
        self.lock_dir = lock_dir
        self.session = session or (lambda: LvmSession(recorder, timeout=command_timeout))

    def snapshots(self, subject_id: str, images: Sequence[tuple[str, list[str]]]) -> FreezeRecord:
        """Run each (volume id, lvcreate argv) under one freeze of those volumes' gates."""
        argv = dict(images)
        ids = [volume_id for volume_id, _ in images]
        with self.lvm.writer.exclusive(), self.gates.holding(ids):
            self._wait_for_vg()
            with self.session() as session:
                session.command(self._warm_argv())
                record = self.freezer.run(
                    subject_id, ids, lambda volume_id: session.command(argv[volume_id])
                )
        try:
            self.lvm.backup()
        except CommandError as err:  # the snapshots exist; the next LVM change backs up again
            log.warning("metadata backup after a freeze failed", vg=self.lvm.vg, error=str(err))
        return record

    def _warm_argv(self) -> list[str]:
        """A cheap first command: loads lvm, its config and the profile, and scans the PVs."""
        return self.lvm.lv_argv(self.lvm.pool)[1:]

    def _wait_for_vg(self) -> None:
        """Wait until no other process holds the VG's LVM lock, so that the first snapshot does
        not queue for it with the gates frozen. Best effort: the lock is released at once, and
        another process may still take it; the guard bounds what that costs."""
        path = self.lock_dir / f"V_{self.lvm.vg}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # no LVM command has locked this VG since boot
        try:
            give_up = time.monotonic() + VG_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() >= give_up:
                        raise Busy(
                            f"volume group {self.lvm.vg} is locked by another process; retry later"
                        ) from None
                    time.sleep(0.05)
                    continue
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
        finally:
            os.close(fd)
