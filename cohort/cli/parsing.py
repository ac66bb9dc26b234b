"""Argument value parsers: sizes, key=value specs, comma lists, status names."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.descriptor import EnumDescriptor

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes, or a number with a binary unit: 512M, 10G, 1.5TiB, 4096, 10GB (= 10 GiB)."""
    match = _SIZE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (e.g. 1073741824, 512M, 10G)")
    number, unit = match.groups()
    try:
        value = Decimal(number) * _UNITS[unit.upper()]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise argparse.ArgumentTypeError(f"invalid size {text!r}") from exc
    if value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"size {text!r} is not a whole number of bytes")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size {text!r} must be greater than zero")
    return int(value)


def parse_csv(text: str) -> list[str]:
    """A comma-separated list: "a,b, c" -> ["a", "b", "c"]; empty items are dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


class SpecAction(argparse.Action):
    """Collects repeated ``--spec key=value`` options into one dict."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = [values] if isinstance(values, str) else list(values or [])
        specs: dict[str, str] = dict(getattr(namespace, self.dest, None) or {})
        for item in items:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                parser.error(f"{option_string}: expected KEY=VALUE, got {item!r}")
            specs[key.strip()] = value.strip()
        setattr(namespace, self.dest, specs)


def enum_prefix(enum: EnumDescriptor) -> str:
    """VolumeStatus -> "VOLUME_STATUS_" (the prefix the proto style guide puts on values)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_label(enum: EnumDescriptor, number: int) -> str:
    """A value as people read it, Cinder style: "available", "in-use", "error_deleting"."""
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    name = value.name.removeprefix(enum_prefix(enum)).lower()
    return "in-use" if name == "in_use" else name


def enum_parser(enum: EnumDescriptor) -> Callable[[str], int]:
    """An argparse type accepting the labels of `enum` ("in-use", "in_use", "IN_USE")."""
    choices = {
        enum_label(enum, v.number): v.number
        for v in enum.values
        if v.number != 0 and not v.name.endswith("_DELETED")
    }

    def parse(text: str) -> int:
        key = text.strip().lower().replace("_", "-")
        for label, number in choices.items():
            if label.replace("_", "-") == key:
                return number
        raise argparse.ArgumentTypeError(
            f"invalid status {text!r} (choose from {', '.join(choices)})"
        )

    parse.__name__ = "status"
    return parse
