"""LVM state from JSON reports (`--reportformat json --units b --nosuffix -o <columns>`).

lvm2's JSON report is `{"report": [{"lv": [{col: "string", ...}]}]}` (one element per report
group; `fullreport` gives one element per VG with "vg", "pv", "lv", "pvseg", "seg" lists; a
"log" list may follow when the command log is reported). Every value is a string; sizes are
bytes without suffix; percentages are "12.34" or "" where they do not apply. Rows become
frozen dataclasses here; `lv_attr` is decoded into typed fields. Nothing else in cohort reads
LVM's output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
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


def rows(text: str, kind: str) -> Iterator[Mapping[str, str]]:
    """Every row of `kind` ("lv", "vg", "pv", ...) in every report element."""
    for element in _load(text)["report"]:  # type: ignore[attr-defined]
        if not isinstance(element, dict):
            raise ReportError("LVM report element is not an object")
        for row in element.get(kind, []):
            if not isinstance(row, dict):
                raise ReportError(f"LVM report {kind} row is not an object")
            yield row


def _get(row: Mapping[str, str], key: str) -> str:
    try:
        value = row[key]
    except KeyError:
        raise ReportError(f"LVM report row lacks column {key!r}") from None
    if not isinstance(value, str):
        raise ReportError(f"LVM report column {key!r} is not a string: {value!r}")
    return value


def _int(row: Mapping[str, str], key: str, default: int | None = None) -> int:
    value = _get(row, key).strip()
    if value == "" and default is not None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ReportError(f"LVM report column {key!r} is not an integer: {value!r}") from None


def _opt_int(row: Mapping[str, str], key: str) -> int | None:
    value = row.get(key, "").strip()
    return int(value) if value else None


def _pct(row: Mapping[str, str], key: str) -> float | None:
    value = row.get(key, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ReportError(f"LVM report column {key!r} is not a number: {value!r}") from None


def _tags(value: str) -> tuple[str, ...]:
    return tuple(t for t in value.split(",") if t)


def parse_lv(row: Mapping[str, str]) -> LogicalVolume:
    return LogicalVolume(
        name=_get(row, "lv_name"),
        vg=_get(row, "vg_name"),
        uuid=_get(row, "lv_uuid"),
        size=_int(row, "lv_size"),
        attr=LvAttr.parse(_get(row, "lv_attr")),
        pool_lv=row.get("pool_lv", ""),
        origin=row.get("origin", ""),
        data_percent=_pct(row, "data_percent"),
        metadata_percent=_pct(row, "metadata_percent"),
        metadata_size=_opt_int(row, "lv_metadata_size"),
        tags=_tags(row.get("lv_tags", "")),
        dm_path=row.get("lv_dm_path", ""),
        kernel_major=_int(row, "lv_kernel_major", -1) if "lv_kernel_major" in row else -1,
        kernel_minor=_int(row, "lv_kernel_minor", -1) if "lv_kernel_minor" in row else -1,
        segtype=row.get("segtype", ""),
        when_full=row.get("lv_when_full", ""),
    )


def parse_vg(row: Mapping[str, str]) -> VolumeGroup:
    return VolumeGroup(
        name=_get(row, "vg_name"),
        uuid=_get(row, "vg_uuid"),
        size=_int(row, "vg_size"),
        free=_int(row, "vg_free"),
        extent_size=_int(row, "vg_extent_size"),
        extent_count=_int(row, "vg_extent_count", 0),
        free_count=_int(row, "vg_free_count", 0),
        tags=_tags(row.get("vg_tags", "")),
    )


def parse_pv(row: Mapping[str, str]) -> PhysicalVolume:
    return PhysicalVolume(
        name=_get(row, "pv_name"),
        vg=row.get("vg_name", ""),
        uuid=row.get("pv_uuid", ""),
        size=_int(row, "pv_size", 0),
        free=_int(row, "pv_free", 0),
        dev_size=_int(row, "dev_size", 0),
    )


def parse_lvs(text: str) -> list[LogicalVolume]:
    return [parse_lv(r) for r in rows(text, "lv")]


def parse_vgs(text: str) -> list[VolumeGroup]:
    return [parse_vg(r) for r in rows(text, "vg")]


def parse_pvs(text: str) -> list[PhysicalVolume]:
    return [parse_pv(r) for r in rows(text, "pv")]


def lvs_argv(*selectors: str) -> list[str]:
    """`lvm lvs` with cohort's columns; selectors (VG or VG/LV names) go after `--`."""
    return ["lvm", "lvs", *REPORT_OPTIONS, "-o", ",".join(LV_COLUMNS), "--", *selectors]


def vgs_argv(*names: str) -> list[str]:
    return ["lvm", "vgs", *REPORT_OPTIONS, "-o", ",".join(VG_COLUMNS), "--", *names]


def pvs_argv() -> list[str]:
    return ["lvm", "pvs", *REPORT_OPTIONS, "-o", ",".join(PV_COLUMNS)]
