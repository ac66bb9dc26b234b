"""The LVM commands cohort runs, as argv lists, on one VG and its thin pool.

Every object name is made by `cohort.lvm.names` from a cohort id and checked against LVM's name
charset; every positional argument follows `--`, so nothing can be read as an option.

`Lvm.writer` is cohort's single LVM writer lock. Every command that changes the VG holds it
shared (here, and the group batches of `cohort.lvm.groups`): they run side by side, serialised
only by LVM's own VG lock as before. A freeze holds it exclusive across its whole window, so no
other cohort LVM write queues for the VG's lock while a group is frozen; it is writer-preferring
(a waiting freeze lets no new command start). Reads take it not at all.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

from cohort.lvm import names
from cohort.lvm.errors import ObjectNotFound, classify
from cohort.lvm.report import (
    REPORT_OPTIONS,
    LogicalVolume,
    ReportError,
    VolumeGroup,
    lvs_argv,
    parse_lvs,
    parse_vgs,
    rows,
    vgs_argv,
)
from cohort.lvm.run import CommandError, Runner


def size_arg(size_bytes: int) -> str:
    if size_bytes <= 0:
        raise ValueError(f"size must be positive: {size_bytes}")
    return f"{size_bytes}b"


def tag_options(object_id: str) -> list[str]:
    return ["--addtag", names.OWNER_TAG, "--addtag", names.id_tag(object_id)]


class WriterLock:
    """Shared for LVM commands, exclusive for a freeze; see the module docstring."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: not self._exclusive and not self._shared)
            finally:
                self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class Lvm:
    """One VG and its thin pool."""

    def __init__(self, runner: Runner, vg: str, pool: str, lvm: str = "lvm") -> None:
        self.run = runner
        self.vg = names.check_lvm_name(vg, "volume group name")
        self.pool = names.check_lvm_name(pool, "thin pool name")
        self.lvm = lvm
        self.writer = WriterLock()

    def full(self, lv: str) -> str:
        return f"{self.vg}/{names.check_lvm_name(lv)}"

    def _call(self, argv: Sequence[str], what: str) -> str:
        try:
            return self.run.run([self.lvm, *argv[1:]] if argv[0] == "lvm" else argv).stdout
        except CommandError as err:
            raise classify(err, what) from err

    # -- reading ---------------------------------------------------------------------------
    def lvs(self) -> list[LogicalVolume]:
        """Every LV of the VG (one `lvs`)."""
        return parse_lvs(self._call(lvs_argv(self.vg), f"volume group {self.vg}"))

    def lv(self, lv: str) -> LogicalVolume | None:
        """The LV, or None. Selected by name (`-S lv_name=...`) so that an absent LV is an empty
        report, not a failed command in the log."""
        found = parse_lvs(self._call(self.lv_argv(lv), self.full(lv)))
        return found[0] if found else None

    def lv_argv(self, lv: str) -> list[str]:
        """`lvs` of one LV of the VG, selected by name."""
        argv = lvs_argv(self.vg)
        argv[argv.index("--") : argv.index("--")] = [
            "--select",
            f"lv_name={names.check_lvm_name(lv)}",
        ]
        return argv

    def require(self, lv: str) -> LogicalVolume:
        found = self.lv(lv)
        if found is None:
            raise ObjectNotFound(f"logical volume {self.full(lv)} does not exist")
        return found

    def vg_info(self) -> VolumeGroup:
        found = parse_vgs(self._call(vgs_argv(self.vg), f"volume group {self.vg}"))
        if not found:
            raise ObjectNotFound(f"volume group {self.vg} does not exist")
        return found[0]

    def vg_exists(self) -> bool:
        """Selected by name, so an absent VG is an empty report rather than a failure."""
        argv = vgs_argv()
        argv[argv.index("--") : argv.index("--")] = ["--select", f"vg_name={self.vg}"]
        return bool(parse_vgs(self._call(argv, f"volume group {self.vg}")))

    def pool_lv(self) -> LogicalVolume:
        return self.require(self.pool)

    def transaction_id(self) -> int:
        """The thin pool's transaction id in LVM's metadata."""
        columns = ("lv_name", "transaction_id")
        pool = self.full(self.pool)
        argv = ["lvm", "lvs", *REPORT_OPTIONS, "-o", ",".join(columns), "--", pool]
        found = list(rows(self._call(argv, pool), "lv", columns))
        if len(found) != 1:
            raise ReportError(f"LVM report for {pool} has {len(found)} rows, not 1")
        return found[0].integer("transaction_id")

    # -- argv builders (also used in shell batches, without the leading "lvm") --------------
    def create_thin_argv(self, lv: str, size_bytes: int, object_id: str) -> list[str]:
        return [
            "lvcreate",
            "--type",
            "thin",
            "--virtualsize",
            size_arg(size_bytes),
            "--thinpool",
            self.pool,
            "--name",
            names.check_lvm_name(lv),
            *tag_options(object_id),
            "--",
            self.vg,
        ]

    def snapshot_argv(
        self, lv: str, origin: str, object_id: str, *, writable: bool, fast: bool = False
    ) -> list[str]:
        """A thin snapshot of `origin`. writable=True: a clone (activatable: -kn), active
        unless fast. fast: metadata only (no activation, no udev wait, no monitoring, no
        metadata backup), as inside a freeze; the caller activates and backs up after."""
        argv = ["lvcreate", "--snapshot", "--name", names.check_lvm_name(lv)]
        if writable:
            argv += ["--setactivationskip", "n"]
        argv += ["--activate", "n" if fast or not writable else "y"]
        if fast:
            argv += ["-An", "--noudevsync", "--ignoremonitoring"]
        return [*argv, *tag_options(object_id), "--", self.full(origin)]

    def extend_argv(self, lv: str, size_bytes: int) -> list[str]:
        return ["lvextend", "--size", size_arg(size_bytes), "--", self.full(lv)]

    def activate_argv(self, lv: str) -> list[str]:
        return ["lvchange", "--activate", "y", "--", self.full(lv)]

    # -- changing --------------------------------------------------------------------------
    def _change(self, argv: Sequence[str], what: str) -> None:
        with self.writer.shared():
            self._call(["lvm", *argv], what)

    def create_thin(self, lv: str, size_bytes: int, object_id: str) -> None:
        self._change(self.create_thin_argv(lv, size_bytes, object_id), self.full(lv))

    def snapshot(self, lv: str, origin: str, object_id: str, *, writable: bool) -> None:
        self._change(self.snapshot_argv(lv, origin, object_id, writable=writable), self.full(lv))

    def extend(self, lv: str, size_bytes: int) -> None:
        self._change(self.extend_argv(lv, size_bytes), self.full(lv))

    def activate(self, lv: str, *, ignore_skip: bool = False) -> None:
        """ignore_skip: activate an LV with the activation skip flag (a snapshot)."""
        argv = self.activate_argv(lv)
        if ignore_skip:
            argv.insert(-2, "--ignoreactivationskip")
        self._change(argv, self.full(lv))

    def deactivate(self, lv: str) -> None:
        self._change(["lvchange", "--activate", "n", "--", self.full(lv)], self.full(lv))

    def backup(self) -> None:
        """Back up the VG's metadata (`vgcfgbackup`), after commands run with `-An`."""
        self._call(["lvm", "vgcfgbackup", "--", self.vg], f"volume group {self.vg}")

    def refresh(self, lv: str) -> None:
        """`lvchange --refresh`: LVM reloads the LV's table from its metadata and resumes it (a
        suspended LV too: see cohort.lvm.repair)."""
        self._change(["lvchange", "--refresh", "--", self.full(lv)], self.full(lv))

    def remove(self, lv: str) -> None:
        """Idempotent: an LV that does not exist is removed already."""
        if self.lv(lv) is None:
            return
        try:
            self._change(["lvremove", "--yes", "--", self.full(lv)], self.full(lv))
        except ObjectNotFound:
            return

    def activate_tagged(self) -> None:
        """Activate every LV cohort tagged (snapshots keep their activation skip flag)."""
        self._change(["lvchange", "--activate", "y", "--", f"{self.vg}/{self.pool}"], self.pool)
        self._change(
            ["lvchange", "--activate", "y", "--", "@" + names.OWNER_TAG],
            f"LVs tagged {names.OWNER_TAG}",
        )

    def error_when_full(self) -> None:
        """Thin pool behaviour on full: fail the I/O at once instead of queueing it (60 s by
        default, then fail) so a full pool is an error, not a hang."""
        self._change(
            ["lvchange", "--errorwhenfull", "y", "--", f"{self.vg}/{self.pool}"], self.pool
        )
