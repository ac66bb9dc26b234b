"""LVM state from JSON reports (`--reportformat json --units b --nosuffix -o <columns>`).

lvm2's JSON report is `{"report": [{"lv": [{col: "string", ...}]}]}` (one element per report
group; `fullreport` gives one element per VG with "vg", "pv", "lv", "pvseg", "seg" lists; a
"log" list may follow when the command log is reported). Every value is a string; sizes are
bytes without suffix; percentages are "12.34" or "" where they do not apply. lvm prints every
column a command asks for in every row (an empty string where it does not apply), so a row
that lacks one is not the report asked for: `MissingColumn`, never an empty default. Rows become
frozen dataclasses here; `lv_attr` is decoded into typed fields. Nothing else in cohort reads
LVM's output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from cohort.errors import BackendError

LV_COLUMNS = (
    "lv_name",
    "vg_name",
    "lv_uuid",
    "lv_size",
    "lv_attr",
    "pool_lv",
    "origin",
    "data_percent",
    "metadata_percent",
    "lv_metadata_size",
    "lv_tags",
    "lv_dm_path",
    "lv_kernel_major",
    "lv_kernel_minor",
    "segtype",
    "lv_when_full",
)
VG_COLUMNS = (
    "vg_name",
    "vg_uuid",
    "vg_size",
    "vg_free",
    "vg_extent_size",
    "vg_extent_count",
    "vg_free_count",
    "vg_tags",
)
PV_COLUMNS = ("pv_name", "vg_name", "pv_uuid", "pv_size", "pv_free", "dev_size")

REPORT_OPTIONS = ("--reportformat", "json", "--units", "b", "--nosuffix")


E = TypeVar("E", bound=StrEnum)


class ReportError(BackendError):
    """LVM printed something that is not the report we asked for."""


class MissingColumn(ReportError):
    """A report row lacks a column the command asked for (never read as an empty default)."""

    def __init__(self, kind: str, column: str) -> None:
        super().__init__(f"LVM report {kind} row lacks column {column!r}")
        self.kind = kind
        self.column = column


class VolumeType(StrEnum):
    """lv_attr[0]."""

    THIN = "V"
    THIN_POOL = "t"
    THIN_POOL_DATA = "T"
    METADATA = "e"
    SNAPSHOT = "s"
    ORIGIN = "o"
    VIRTUAL = "v"
    IMAGE = "i"
    PLAIN = "-"
    OTHER = "?"


class Permission(StrEnum):
    """lv_attr[1]."""

    WRITABLE = "w"
    READ_ONLY = "r"
    READ_ONLY_ACTIVATION = "R"
    UNKNOWN = "-"


class State(StrEnum):
    """lv_attr[4]."""

    ACTIVE = "a"
    SUSPENDED = "s"
    HISTORICAL = "h"
    INVALID_SNAPSHOT = "I"
    NO_TABLE = "d"
    INACTIVE_TABLE = "i"
    CHECK_NEEDED = "c"
    INACTIVE = "-"
    OTHER = "?"


class PoolHealth(StrEnum):
    """lv_attr[8] (thin pools: F failed, D out of data space, M metadata read only)."""

    OK = "-"
    FAILED = "F"
    OUT_OF_DATA = "D"
    METADATA_READ_ONLY = "M"
    PARTIAL = "p"
    OTHER = "?"


def _enum(cls: type[E], ch: str, default: E) -> E:
    try:
        return cls(ch)
    except ValueError:
        return default


@dataclass(frozen=True, slots=True)
class LvAttr:
    """The 10 characters of lv_attr, decoded."""

    raw: str
    volume_type: VolumeType
    permission: Permission
    state: State
    open: bool
    target_type: str
    zero: bool
    health: PoolHealth
    skip_activation: bool

    @classmethod
    def parse(cls, attr: str) -> LvAttr:
        a = attr.ljust(10, "-")
        return cls(
            raw=attr,
            volume_type=_enum(VolumeType, a[0], VolumeType.OTHER),
            permission=_enum(Permission, a[1], Permission.UNKNOWN),
            state=_enum(State, a[4], State.OTHER),
            open=a[5] == "o",
            target_type=a[6],
            zero=a[7] == "z",
            health=_enum(PoolHealth, a[8], PoolHealth.OTHER),
            skip_activation=a[9] == "k",
        )

    @property
    def active(self) -> bool:
        return self.state is State.ACTIVE

    @property
    def thin(self) -> bool:
        return self.volume_type is VolumeType.THIN

    @property
    def thin_pool(self) -> bool:
        return self.volume_type is VolumeType.THIN_POOL


@dataclass(frozen=True, slots=True)
class LogicalVolume:
    name: str
    vg: str
    uuid: str
    size: int
    attr: LvAttr
    pool_lv: str
    origin: str
    data_percent: float | None
    metadata_percent: float | None
    metadata_size: int | None
    tags: tuple[str, ...]
    dm_path: str
    kernel_major: int
    kernel_minor: int
    segtype: str
    when_full: str = ""
    """Thin pools: "error" or "queue" (what I/O does when the pool is full)."""

    @property
    def full_name(self) -> str:
        return f"{self.vg}/{self.name}"

    @property
    def is_snapshot(self) -> bool:
        """A thin snapshot: a thin LV with an origin."""
        return self.attr.thin and bool(self.origin)

    @property
    def devno(self) -> str | None:
        """ "MAJOR:MINOR" of the active dm device, None when not active."""
        if self.kernel_major < 0 or self.kernel_minor < 0:
            return None
        return f"{self.kernel_major}:{self.kernel_minor}"

    def tag_value(self, prefix: str) -> str | None:
        for tag in self.tags:
            if tag.startswith(prefix):
                return tag[len(prefix) :]
        return None


@dataclass(frozen=True, slots=True)
class VolumeGroup:
    name: str
    uuid: str
    size: int
    free: int
    extent_size: int
    extent_count: int
    free_count: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PhysicalVolume:
    name: str
    vg: str
    uuid: str
    size: int
    free: int
    dev_size: int


def _load(text: str) -> Mapping[str, object]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"LVM report is not JSON: {exc}: {text[:200]!r}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("report"), list):
        raise ReportError(f"LVM report has no 'report' list: {text[:200]!r}")
    return doc


class Row:
    """One report row; every accessor requires its column (asked for, so always printed)."""

    __slots__ = ("_values", "kind")

    def __init__(self, kind: str, values: Mapping[str, object], columns: Sequence[str]) -> None:
        self.kind = kind
        self._values = values
        for column in columns:
            self.text(column)

    def text(self, column: str) -> str:
        try:
            value = self._values[column]
        except KeyError:
            raise MissingColumn(self.kind, column) from None
        if not isinstance(value, str):
            raise ReportError(
                f"LVM report {self.kind} column {column!r} is not a string: {value!r}"
            )
        return value

    def integer(self, column: str) -> int:
        value = self.text(column).strip()
        try:
            return int(value)
        except ValueError:
            raise ReportError(
                f"LVM report {self.kind} column {column!r} is not an integer: {value!r}"
            ) from None

    def optional_integer(self, column: str) -> int | None:
        """None where LVM prints "" (the column does not apply to this row)."""
        value = self.text(column).strip()
        return None if value == "" else self.integer(column)

    def percent(self, column: str) -> float | None:
        value = self.text(column).strip()
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            raise ReportError(
                f"LVM report {self.kind} column {column!r} is not a number: {value!r}"
            ) from None

    def tags(self, column: str) -> tuple[str, ...]:
        return tuple(t for t in self.text(column).split(",") if t)


def rows(text: str, kind: str, columns: Sequence[str]) -> Iterator[Row]:
    """Every row of `kind` ("lv", "vg", "pv") in every report element, each checked to carry
    every one of `columns` (the columns the command asked for) as a string."""
    for element in _load(text)["report"]:  # type: ignore[attr-defined]
        if not isinstance(element, dict):
            raise ReportError("LVM report element is not an object")
        found = element.get(kind)
        if not isinstance(found, list):
            raise ReportError(f"LVM report element has no {kind!r} list")
        for row in found:
            if not isinstance(row, dict):
                raise ReportError(f"LVM report {kind} row is not an object")
            yield Row(kind, row, columns)


def parse_lv(row: Row) -> LogicalVolume:
    return LogicalVolume(
        name=row.text("lv_name"),
        vg=row.text("vg_name"),
        uuid=row.text("lv_uuid"),
        size=row.integer("lv_size"),
        attr=LvAttr.parse(row.text("lv_attr")),
        pool_lv=row.text("pool_lv"),
        origin=row.text("origin"),
        data_percent=row.percent("data_percent"),
        metadata_percent=row.percent("metadata_percent"),
        metadata_size=row.optional_integer("lv_metadata_size"),
        tags=row.tags("lv_tags"),
        dm_path=row.text("lv_dm_path"),
        kernel_major=row.integer("lv_kernel_major"),
        kernel_minor=row.integer("lv_kernel_minor"),
        segtype=row.text("segtype"),
        when_full=row.text("lv_when_full"),
    )


def parse_vg(row: Row) -> VolumeGroup:
    return VolumeGroup(
        name=row.text("vg_name"),
        uuid=row.text("vg_uuid"),
        size=row.integer("vg_size"),
        free=row.integer("vg_free"),
        extent_size=row.integer("vg_extent_size"),
        extent_count=row.integer("vg_extent_count"),
        free_count=row.integer("vg_free_count"),
        tags=row.tags("vg_tags"),
    )


def parse_pv(row: Row) -> PhysicalVolume:
    return PhysicalVolume(
        name=row.text("pv_name"),
        vg=row.text("vg_name"),
        uuid=row.text("pv_uuid"),
        size=row.integer("pv_size"),
        free=row.integer("pv_free"),
        dev_size=row.integer("dev_size"),
    )


def parse_lvs(text: str) -> list[LogicalVolume]:
    """The rows of an `lvs_argv` report (every one of LV_COLUMNS required)."""
    return [parse_lv(r) for r in rows(text, "lv", LV_COLUMNS)]


def parse_vgs(text: str) -> list[VolumeGroup]:
    """The rows of a `vgs_argv` report (every one of VG_COLUMNS required)."""
    return [parse_vg(r) for r in rows(text, "vg", VG_COLUMNS)]


def parse_pvs(text: str) -> list[PhysicalVolume]:
    """The rows of a `pvs_argv` report (every one of PV_COLUMNS required)."""
    return [parse_pv(r) for r in rows(text, "pv", PV_COLUMNS)]


def lvs_argv(*selectors: str) -> list[str]:
    """`lvm lvs` with cohort's columns; selectors (VG or VG/LV names) go after `--`."""
    return ["lvm", "lvs", *REPORT_OPTIONS, "-o", ",".join(LV_COLUMNS), "--", *selectors]


def vgs_argv(*names: str) -> list[str]:
    return ["lvm", "vgs", *REPORT_OPTIONS, "-o", ",".join(VG_COLUMNS), "--", *names]


def pvs_argv() -> list[str]:
    return ["lvm", "pvs", *REPORT_OPTIONS, "-o", ",".join(PV_COLUMNS)]
