"""Conversion between table rows and the domain's dataclasses.

A codec knows, per attribute, how the value is stored: enums as their string value, dicts and
lists as JSON (copied both ways, so no domain object shares a mutable value with a row), an
operation's steps as a list of plain dicts. Rows and records have the same attribute names,
except for a *composite* attribute, kept in several columns named after it (a freeze record:
`freeze_path`, `freeze_window_seconds`, `freeze_stalls`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from cohort.domain.exports import Access, AccessState, Export, ExportKind
from cohort.domain.model import (
    FreezePath,
    FreezeRecord,
    Group,
    GroupSnapshot,
    GroupStatus,
    GroupType,
    Operation,
    OperationState,
    Snapshot,
    SnapshotStatus,
    StepRecord,
    StepState,
    Volume,
    VolumeStatus,
    VolumeType,
)
from cohort.store.models import (
    AccessRow,
    Base,
    ExportRow,
    GroupRow,
    GroupSnapshotRow,
    GroupTypeRow,
    OperationRow,
    SnapshotRow,
    VolumeRow,
    VolumeTypeRow,
)

T = TypeVar("T")
Convert = Callable[[Any], Any]


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store keeps aware UTC times")
    return value.astimezone(UTC)


def _encode_steps(steps: list[StepRecord]) -> list[dict[str, Any]]:
    return [
        {"seq": s.seq, "action": s.action, "params": dict(s.params), "state": s.state.value}
        for s in steps
    ]


def _decode_steps(steps: list[dict[str, Any]]) -> list[StepRecord]:
    return [
        StepRecord(
            seq=int(s["seq"]),
            action=str(s["action"]),
            params={str(k): str(v) for k, v in s["params"].items()},
            state=StepState(s["state"]),
        )
        for s in steps
    ]


@dataclass(frozen=True, slots=True)
class Composite:
    """One attribute kept in several columns: its value as a tuple of column values, and
    back (None when the record has none: every column NULL)."""

    columns: tuple[str, ...]
    encode: Callable[[Any], tuple[Any, ...]]
    decode: Callable[[tuple[Any, ...]], Any]


def _encode_freeze(freeze: FreezeRecord | None) -> tuple[Any, ...]:
    if freeze is None:
        return (None, None, None)
    return (freeze.path.value, freeze.window_seconds, dict(freeze.stalls))


def _decode_freeze(columns: tuple[Any, ...]) -> FreezeRecord | None:
    path, window, stalls = columns
    if path is None:
        return None
    return FreezeRecord(
        FreezePath(path), float(window), {str(k): float(v) for k, v in stalls.items()}
    )


#: Path as text and window as a number, so SQL can filter and aggregate them; the per-gate
#: stalls as one JSON object: only ever read with their record, never filtered or joined (a
#: child table would add a join to every read of a group or group snapshot for no query).
FREEZE = Composite(
    ("freeze_path", "freeze_window_seconds", "freeze_stalls"), _encode_freeze, _decode_freeze
)


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How one kind of record maps onto its table."""

    kind: str  # for messages: "volume", "group snapshot", ...
    record: type[T]
    row: type[Base]
    fields: tuple[str, ...]
    #: attribute -> (record value -> column value, column value -> record value; None: the
    #: column type's own result is the record's value)
    special: dict[str, tuple[Convert, Convert | None]]
    #: attributes kept as JSON: not usable in filters
    json_fields: frozenset[str]
    #: attributes kept in several columns: not usable in filters either
    composites: dict[str, Composite]

    def columns_of(self, name: str) -> tuple[str, ...]:
        """The columns that hold attribute `name`, in order."""
        composite = self.composites.get(name)
        return composite.columns if composite else (name,)

    def to_columns(self, obj: T) -> dict[str, Any]:
        return self._encode({name: getattr(obj, name) for name in self.fields})

    def _encode(self, values: dict[str, Any]) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        for name, value in values.items():
            composite = self.composites.get(name)
            if composite is not None:
                columns.update(zip(composite.columns, composite.encode(value), strict=True))
            elif name in self.special:
                columns[name] = self.special[name][0](value)
            else:
                columns[name] = value
        return columns

    def patch_columns(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Columns for a partial update; an attribute the record lacks is a ValueError."""
        for name in changes:
            if name not in self.fields or name == "id":
                raise ValueError(f"cannot patch {name!r} of a {self.kind}")
        return self._encode(changes)

    def column_value(self, name: str, value: object) -> object:
        """A filter value as stored (enums by value, datetimes in UTC)."""
        if isinstance(value, datetime):
            return _aware_utc(value)
        return _enum_value(value)


def _codec(
    kind: str,
    record: type[T],
    row: type[Base],
    enums: dict[str, type[Enum]] | None = None,
    json: dict[str, tuple[Convert, Convert]] | None = None,
    composites: dict[str, Composite] | None = None,
) -> Codec[T]:
    fields = tuple(f.name for f in dataclasses.fields(record))  # type: ignore[arg-type]
    special: dict[str, tuple[Convert, Convert | None]] = {}
    for name in fields:
        if name.endswith("_at"):
            special[name] = (_aware_utc, None)  # UTCDateTime loads aware UTC datetimes
    for name, enum in (enums or {}).items():
        members = {member.value: member for member in enum}
        special[name] = (_enum_value, members.__getitem__)
    special.update(json or {})
    return Codec(kind, record, row, fields, special, frozenset(json or {}), composites or {})


_DICT: tuple[Convert, Convert] = (dict, dict)
_LIST: tuple[Convert, Convert] = (list, list)

VOLUME_TYPES = _codec("volume type", VolumeType, VolumeTypeRow, json={"extra_specs": _DICT})
GROUP_TYPES = _codec("group type", GroupType, GroupTypeRow, json={"group_specs": _DICT})
VOLUMES = _codec("volume", Volume, VolumeRow, enums={"status": VolumeStatus})
SNAPSHOTS = _codec("snapshot", Snapshot, SnapshotRow, enums={"status": SnapshotStatus})
GROUPS = _codec(
    "group",
    Group,
    GroupRow,
    enums={"status": GroupStatus},
    json={"volume_type_ids": _LIST},
    composites={"freeze": FREEZE},
)
GROUP_SNAPSHOTS = _codec(
    "group snapshot",
    GroupSnapshot,
    GroupSnapshotRow,
    enums={"status": SnapshotStatus},
    composites={"freeze": FREEZE},
)
OPERATIONS = _codec(
    "operation",
    Operation,
    OperationRow,
    enums={"state": OperationState},
    json={"steps": (_encode_steps, _decode_steps)},
)

EXPORTS = _codec("export", Export, ExportRow, enums={"kind": ExportKind})
ACCESSES = _codec(
    "access", Access, AccessRow, enums={"state": AccessState}, json={"attachments": _LIST}
)

ALL: tuple[Codec[Any], ...] = (
    VOLUME_TYPES,
    GROUP_TYPES,
    VOLUMES,
    SNAPSHOTS,
    GROUPS,
    GROUP_SNAPSHOTS,
    OPERATIONS,
    EXPORTS,
    ACCESSES,
)
