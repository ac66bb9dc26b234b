"""The embedded default pool (DevStack's way), used when no volume group is configured.

A sparse file `<state dir>/lvm/cohort-pv.img` is attached as a loop device and made the PV of
the VG `cohort`, with the thin pool `cohort/pool` (lvm2 2.03.16 refuses `--errorwhenfull` on
`lvcreate --type thin-pool`; `LvmBackend.start` sets it with `lvchange` right after). Loop
devices do not survive a reboot, so `attach()` runs at every start: it finds the file's loop
device (`losetup --json --list`) or attaches it again, then LVM finds the VG on it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from cohort.errors import BackendError
from cohort.lvm.errors import classify
from cohort.lvm.lvm import Lvm
from cohort.lvm.run import CommandError, Runner

log = structlog.get_logger("cohort.lvm.embedded")

VG_NAME = "cohort"
POOL_NAME = "pool"
DEFAULT_SIZE = 20 * 1024**3
#: Share of the VG given to the thin pool's data; the rest holds its metadata and the spare.
POOL_SHARE = "95%FREE"


@dataclass(frozen=True, slots=True)
class LoopDevice:
    name: str
    back_file: str


def list_loops(runner: Runner) -> list[LoopDevice]:
    try:
        out = runner.run(["losetup", "--json", "--list", "--output", "NAME,BACK-FILE"]).stdout
    except CommandError as err:
        raise classify(err, "loop devices") from err
    if not out.strip():
        return []  # losetup prints nothing when no loop device is attached
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as exc:
        raise BackendError(f"losetup --json printed no JSON: {out[:200]!r}") from exc
    loops = []
    for row in doc.get("loopdevices", []):
        back = (row.get("back-file") or "").removesuffix(" (deleted)")
        loops.append(LoopDevice(row.get("name", ""), back))
    return loops


class EmbeddedPool:
    def __init__(self, runner: Runner, state_dir: Path, size_bytes: int = DEFAULT_SIZE) -> None:
        self.run = runner
        self.backing_file = state_dir / "lvm" / "cohort-pv.img"
        self.size_bytes = size_bytes

    def attach(self) -> str:
        """The loop device of the backing file, creating the file and attaching it if needed."""
        path = self.backing_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(path, "wb") as f:
                f.truncate(self.size_bytes)
            log.info("embedded pool backing file created", path=str(path), size=self.size_bytes)
        real = os.path.realpath(path)
        for loop in list_loops(self.run):
            if loop.back_file == real:
                return loop.name
        try:
            out = self.run.run(["losetup", "--find", "--show", "--", real]).stdout
        except CommandError as err:
            raise classify(err, f"loop device for {real}") from err
        dev = out.strip()
        if not dev.startswith("/dev/loop"):
            raise BackendError(f"losetup --show printed no loop device: {out!r}")
        log.info("embedded pool attached", loop=dev, path=real)
        return dev

    def ensure_vg(self, lvm: Lvm, pv: str) -> None:
        """Create the VG and the thin pool on `pv` when they do not exist (first start)."""
        if not lvm.vg_exists():
            self._call(["lvm", "pvcreate", "--yes", "--", pv], pv)
            self._call(["lvm", "vgcreate", "--", lvm.vg, pv], lvm.vg)
            log.info("embedded volume group created", vg=lvm.vg, pv=pv)
        if lvm.lv(lvm.pool) is None:
            self._call(
                [
                    "lvm",
                    "lvcreate",
                    "--type",
                    "thin-pool",
                    "--extents",
                    POOL_SHARE,
                    "--name",
                    lvm.pool,
                    "--",
                    lvm.vg,
                ],
                f"{lvm.vg}/{lvm.pool}",
            )
            log.info("embedded thin pool created", pool=f"{lvm.vg}/{lvm.pool}")

    def _call(self, argv: list[str], what: str) -> None:
        try:
            self.run.run(argv)
        except CommandError as err:
            raise classify(err, what) from err
