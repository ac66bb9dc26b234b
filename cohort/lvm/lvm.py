"""The LVM commands cohort runs, as argv lists, on one VG and its thin pool.

Every object name is made by `cohort.lvm.names` from a cohort id and checked against LVM's name
charset; every positional argument follows `--`, so nothing can be read as an option.
"""

from __future__ import annotations

from collections.abc import Sequence

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


class Lvm:
    """One VG and its thin pool."""

    def __init__(self, runner: Runner, vg: str, pool: str, lvm: str = "lvm") -> None:
        self.run = runner
        self.vg = names.check_lvm_name(vg, "volume group name")
        self.pool = names.check_lvm_name(pool, "thin pool name")
        self.lvm = lvm

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
        argv = lvs_argv(self.vg)
        argv[argv.index("--") : argv.index("--")] = [
            "--select",
            f"lv_name={names.check_lvm_name(lv)}",
        ]
        found = parse_lvs(self._call(argv, self.full(lv)))
        return found[0] if found else None

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
        """A thin snapshot of `origin`. writable=True: a clone (activatable: -kn, active)."""
        argv = ["lvcreate", "--snapshot", "--name", names.check_lvm_name(lv)]
        if writable:
            argv += ["--setactivationskip", "n", "--activate", "y"]
        else:
            argv += ["--activate", "n"]
        if fast:
            argv += ["-An", "--noudevsync", "--ignoremonitoring"]
        return [*argv, *tag_options(object_id), "--", self.full(origin)]

    def extend_argv(self, lv: str, size_bytes: int) -> list[str]:
        return ["lvextend", "--size", size_arg(size_bytes), "--", self.full(lv)]

    def activate_argv(self, lv: str) -> list[str]:
        return ["lvchange", "--activate", "y", "--", self.full(lv)]

    # -- changing --------------------------------------------------------------------------
    def create_thin(self, lv: str, size_bytes: int, object_id: str) -> None:
        self._call(["lvm", *self.create_thin_argv(lv, size_bytes, object_id)], self.full(lv))

    def snapshot(self, lv: str, origin: str, object_id: str, *, writable: bool) -> None:
        argv = self.snapshot_argv(lv, origin, object_id, writable=writable)
        self._call(["lvm", *argv], self.full(lv))

    def extend(self, lv: str, size_bytes: int) -> None:
        self._call(["lvm", *self.extend_argv(lv, size_bytes)], self.full(lv))

    def activate(self, lv: str) -> None:
        self._call(["lvm", *self.activate_argv(lv)], self.full(lv))

    def refresh(self, lv: str) -> None:
        """`lvchange --refresh`: LVM reloads the LV's table from its metadata and resumes it (a
        suspended LV too: see cohort.lvm.repair)."""
        self._call(["lvm", "lvchange", "--refresh", "--", self.full(lv)], self.full(lv))

    def remove(self, lv: str) -> None:
        """Idempotent: an LV that does not exist is removed already."""
        if self.lv(lv) is None:
            return
        try:
            self._call(["lvm", "lvremove", "--yes", "--", self.full(lv)], self.full(lv))
        except ObjectNotFound:
            return

    def activate_tagged(self) -> None:
        """Activate every LV cohort tagged (snapshots keep their activation skip flag)."""
        self._call(
            ["lvm", "lvchange", "--activate", "y", "--", f"{self.vg}/{self.pool}"], self.pool
        )
        self._call(
            ["lvm", "lvchange", "--activate", "y", "--", "@" + names.OWNER_TAG],
            f"LVs tagged {names.OWNER_TAG}",
        )

    def error_when_full(self) -> None:
        """Thin pool behaviour on full: fail the I/O at once instead of queueing it (60 s by
        default, then fail) so a full pool is an error, not a hang."""
        self._call(
            ["lvm", "lvchange", "--errorwhenfull", "y", "--", f"{self.vg}/{self.pool}"],
            self.pool,
        )
