"""Rendering of responses: bordered tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from cohort.cli.parsing import enum_label

_BINARY_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")

Columns = Sequence[tuple[str, str | Callable[[Message], str]]]
"""Table columns of a list: (header, message field name or a function of the item)."""


def human_size(size: int) -> str:
    """1073741824 -> "1 GiB", 1610612736 -> "1.5 GiB", 100 -> "100 bytes"."""
    value = float(size)
    for unit in _BINARY_UNITS:
        if abs(value) < 1024 or unit == _BINARY_UNITS[-1]:
            if unit == "bytes":
                return f"{size} bytes"
            return f"{value:.2f}".rstrip("0").rstrip(".") + f" {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _scalar(field: Any, value: Any, *, detail: bool) -> str:
    if field.enum_type is not None:
        return enum_label(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "True" if value else "False"
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return f"{value:.2f}" if field.name.endswith("_gb") else f"{value:g}"
    if field.message_type is not None:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            if not value.seconds and not value.nanos:
                return "-"
            return str(value.ToDatetime().replace(microsecond=0).isoformat()) + "Z"
        if field.message_type.full_name == "cohort.v1.Freeze":
            return _freeze(value)
        return json.dumps(MessageToDict(value, preserving_proto_field_name=True))
    if field.name.endswith("_bytes") and isinstance(value, int):
        return (
            f"{human_size(value)} ({value} bytes)"
            if detail and value >= 1024
            else human_size(value)
        )
    return str(value) if value != "" else "-"


def _freeze(freeze: Any) -> str:
    """A freeze record one item a line: its path, its window, each member gate's stall."""
    path = enum_label(freeze.DESCRIPTOR.fields_by_name["path"].enum_type, freeze.path)
    lines = [f"path={path}", f"window_seconds={freeze.window_seconds:g}"]
    lines += [f"stall_seconds {s.volume_id}={s.stall_seconds:g}" for s in freeze.stalls]
    return "\n".join(lines)


def format_field(message: Message, name: str, *, detail: bool = False) -> str:
    """One field of `message` as text; lists and maps one item per line; "-" for an unset
    message."""
    field = message.DESCRIPTOR.fields_by_name[name]
    value = getattr(message, name)
    if field.message_type is not None and not field.is_repeated and not message.HasField(name):
        return "-"
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return "\n".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"
    if field.is_repeated:
        return "\n".join(_scalar(field, item, detail=detail) for item in value) or "-"
    return _scalar(field, value, detail=detail)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A prettytable-style bordered table (Cinder's look); cells may span several lines."""
    split_rows = [[cell.split("\n") for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in split_rows:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [rule, line(headers), rule]
    for row in split_rows:
        height = max((len(lines) for lines in row), default=1)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row]))
    out.append(rule)
    return "\n".join(out)


def render_list(items: Sequence[Message], columns: Columns) -> str:
    headers = [header for header, _ in columns]
    rows = [
        [cell(item) if callable(cell) else format_field(item, cell) for _, cell in columns]
        for item in items
    ]
    return render_table(headers, rows)


def render_detail(message: Message, title: str = "Property") -> str:
    """All fields of `message` as a Property/Value table; nested message lists follow it."""
    rows: list[list[str]] = []
    nested: list[str] = []
    for field in message.DESCRIPTOR.fields:
        is_message_list = (
            field.is_repeated
            and field.message_type is not None
            and not field.message_type.GetOptions().map_entry
        )
        if is_message_list:
            for n, item in enumerate(getattr(message, field.name)):
                nested.append(render_detail(item, f"{field.name}[{n}]"))
        else:
            rows.append([field.name, format_field(message, field.name, detail=True)])
    return "\n".join([render_table([title, "Value"], rows), *nested])


def to_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def dump_json(data: Any, *, compact: bool = False) -> str:
    """Indented JSON, or one line per document (JSON Lines) when `compact`."""
    if compact:
        return json.dumps(data, separators=(",", ":"))
    return json.dumps(data, indent=2)
