"""Device-mapper gates: one dm-linear device per volume, stacked on its LV.

A volume is used (and later exported) through its gate `/dev/mapper/cohort-gate-<id>` (dm UUID
`COHORT-GATE-<id>`), never through the LV. Suspending the gates freezes a group's I/O *above*
LVM, so LVM can snapshot the LVs beneath as usual (field notes: never suspend an LV yourself and
then `lvcreate -s`). The freeze's suspend/resume are device-mapper ioctls issued in-process
(`cohort.lvm.dmioctl`); everything here runs `dmsetup` through the choke point. While a group
freezes, its gates are *held* (`Gates.holding`): a create, reload or remove of a held gate is
refused as busy, since a table reload resumes the gate and would thaw it mid-freeze.

The table points at the LV by "MAJOR:MINOR", not by a /dev path: it does not depend on udev
having created the LV's symlinks yet.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cohort.errors import Busy
from cohort.lvm import names
from cohort.lvm.errors import ObjectNotFound, classify
from cohort.lvm.run import CommandError, Runner

SECTOR = 512


@dataclass(frozen=True, slots=True)
class GateInfo:
    volume_id: str
    name: str
    uuid: str
    devno: str
    open_count: int
    suspended: bool

    @property
    def path(self) -> str:
        return "/dev/mapper/" + self.name


def linear_table(lower_devno: str, size_bytes: int) -> str:
    if size_bytes <= 0 or size_bytes % SECTOR:
        raise ValueError(f"gate size must be a positive multiple of {SECTOR}: {size_bytes}")
    major, _, minor = lower_devno.partition(":")
    if not (major.isdigit() and minor.isdigit()):
        raise ValueError(f"not a MAJOR:MINOR device number: {lower_devno!r}")
    return f"0 {size_bytes // SECTOR} linear {lower_devno} 0"


class Gates:
    """create / reload / remove / list / path of cohort's gates, through `dmsetup`."""

    def __init__(self, runner: Runner, dmsetup: str = "dmsetup") -> None:
        self._run = runner
        self._dmsetup = dmsetup
        self._held: set[str] = set()
        self._held_lock = threading.Lock()

    @contextlib.contextmanager
    def holding(self, volume_ids: Sequence[str]) -> Iterator[None]:
        """No create, reload or remove of these gates until the block ends (a freeze)."""
        with self._held_lock:
            clash = self._held.intersection(volume_ids)
            if clash:
                raise Busy(f"gate {sorted(clash)[0]} is held by another freeze")
            self._held.update(volume_ids)
        try:
            yield
        finally:
            with self._held_lock:
                self._held.difference_update(volume_ids)

    def _check_not_held(self, volume_id: str) -> None:
        with self._held_lock:
            if volume_id in self._held:
                raise Busy(f"gate {volume_id} is frozen; retry later")

    @staticmethod
    def path(volume_id: str) -> str:
        return names.gate_path(volume_id)

    def create(self, volume_id: str, lower_devno: str, size_bytes: int) -> str:
        self._check_not_held(volume_id)
        name = names.gate_name(volume_id)
        table = linear_table(lower_devno, size_bytes)
        argv = [self._dmsetup, "create", "--uuid", names.gate_uuid(volume_id)]
        argv += ["--table", table, "--", name]
        self._call(argv, f"gate {volume_id}")
        return names.gate_path(volume_id)

    def reload(self, volume_id: str, lower_devno: str, size_bytes: int) -> None:
        """Load a new table (the LV grew) and swap it in; the kernel suspends around the swap."""
        self._check_not_held(volume_id)
        name = names.gate_name(volume_id)
        table = linear_table(lower_devno, size_bytes)
        self._call([self._dmsetup, "reload", "--table", table, "--", name], f"gate {volume_id}")
        self.resume(volume_id)

    def resume(self, volume_id: str) -> None:
        """Resume the gate (a no-op on a gate that is not suspended)."""
        name = names.gate_name(volume_id)
        self._call([self._dmsetup, "resume", "--", name], f"gate {volume_id}")

    def remove(self, volume_id: str) -> None:
        """Idempotent: a gate that is not there is removed already. One `dmsetup` process, no
        listing of every gate (a group delete removes hundreds)."""
        self._check_not_held(volume_id)
        name = names.gate_name(volume_id)
        try:
            self._call([self._dmsetup, "remove", "--retry", "--", name], f"gate {volume_id}")
        except ObjectNotFound:
            return

    def table(self, volume_id: str) -> str | None:
        """The live table ("0 SECTORS linear MAJ:MIN 0"), None when the gate does not exist."""
        if volume_id not in self.list():
            return None
        try:
            res = self._call(
                [self._dmsetup, "table", "--", names.gate_name(volume_id)], f"gate {volume_id}"
            )
        except ObjectNotFound:
            return None
        return res.strip()

    def list(self) -> dict[str, GateInfo]:
        """Every cohort gate on the host, keyed by volume id (found by its dm UUID prefix)."""
        out = self._call(
            [
                self._dmsetup,
                "info",
                "-c",
                "--noheadings",
                "--separator",
                ":",
                "-o",
                "name,uuid,major,minor,open,suspended",
            ],
            "gates",
        )
        gates: dict[str, GateInfo] = {}
        for line in out.splitlines():
            fields = line.strip().split(":")
            if len(fields) != 6 or not fields[1].startswith(names.GATE_UUID_PREFIX):
                continue
            name, uuid, major, minor, open_count, suspended = fields
            volume_id = uuid[len(names.GATE_UUID_PREFIX) :]
            gates[volume_id] = GateInfo(
                volume_id=volume_id,
                name=name,
                uuid=uuid,
                devno=f"{major}:{minor}",
                open_count=int(open_count) if open_count.isdigit() else 0,
                suspended=suspended.lower().startswith("suspended"),
            )
        return gates

    def _call(self, argv: Sequence[str], what: str) -> str:
        return _dmsetup(self._run, argv, what)


class SnapshotDevices:
    """A snapshot's read-only device for its export: `/dev/mapper/cohort-snap-<id>` (dm UUID
    `COHORT-SNAP-<id>`), a dm-linear table on the activated snapshot LV, created with the
    device-mapper read-only flag. Not a gate: a snapshot never changes, nothing freezes it."""

    def __init__(self, runner: Runner, dmsetup: str = "dmsetup") -> None:
        self._run = runner
        self._dmsetup = dmsetup

    def ensure(self, snapshot_id: str, lower_devno: str, size_bytes: int) -> str:
        """The device exists with this table (made, or made again when it points elsewhere,
        e.g. at the LV's former device number); its path. Idempotent."""
        name = names.snapshot_device_name(snapshot_id)
        what = f"snapshot {snapshot_id} device"
        want = linear_table(lower_devno, size_bytes)
        try:
            have: str | None = _dmsetup(self._run, [self._dmsetup, "table", "--", name], what)
        except ObjectNotFound:
            have = None
        if have is not None and have.strip() != want:
            self.remove(snapshot_id)
            have = None
        if have is None:
            argv = [self._dmsetup, "create", "--readonly"]
            argv += ["--uuid", names.snapshot_device_uuid(snapshot_id)]
            _dmsetup(self._run, [*argv, "--table", want, "--", name], what)
        return "/dev/mapper/" + name

    def remove(self, snapshot_id: str) -> None:
        """Idempotent: a device that is not there is removed already."""
        name = names.snapshot_device_name(snapshot_id)
        try:
            argv = [self._dmsetup, "remove", "--retry", "--", name]
            _dmsetup(self._run, argv, f"snapshot {snapshot_id} device")
        except ObjectNotFound:
            return


def _dmsetup(runner: Runner, argv: Sequence[str], what: str) -> str:
    try:
        return runner.run(argv).stdout
    except CommandError as err:
        raise classify(err, what) from err
