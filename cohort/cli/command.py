"""The table-driven command model: one `Command` per RPC, and its argparse wiring.

A command names its RPC by descriptor; request and response classes, streaming and paging
follow from it. Argument destinations are the request's field names, so the request is built by
copying every field that was given on the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from cohort.cli.output import Columns
from cohort.cli.parsing import SpecAction, enum_parser, parse_csv


class UsageError(Exception):
    """A command line that parses but makes no sense (reported like argparse errors)."""


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    options: dict[str, Any]

    def add_to(self, parser: Any) -> None:
        parser.add_argument(*self.flags, **self.options)


@dataclass(frozen=True)
class OneOf:
    """Mutually exclusive arguments (a proto `oneof` or aliases of one field)."""

    args: tuple[Arg, ...]
    required: bool = False

    def add_to(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=self.required)
        for item in self.args:
            item.add_to(group)


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


def one_of(*args: Arg, required: bool = False) -> OneOf:
    return OneOf(args, required)


def spec_arg(dest: str, what: str) -> Arg:
    return arg(
        "--spec", dest=dest, action=SpecAction, metavar="KEY=VALUE", help=f"{what} (repeatable)"
    )


def csv_arg(flag: str, dest: str, what: str, *, required: bool = False) -> Arg:
    return arg(flag, dest=dest, type=parse_csv, metavar="A,B", required=required, help=what)


def status_arg(method: MethodDescriptor) -> Arg:
    enum = method.input_type.fields_by_name["status"].enum_type
    assert enum is not None, method.full_name
    return arg("--status", type=enum_parser(enum), help="only objects in this status")


NAME_OPT = arg("--name", help="name")
DESCRIPTION = arg("--description", help="description")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    method: MethodDescriptor
    args: tuple[Arg | OneOf, ...] = ()
    columns: Columns | None = None
    # Normalizes the namespace before the request is built (may raise UsageError).
    prepare: Callable[[argparse.Namespace], None] | None = None
    # Maps the response to an exit code (health).
    check: Callable[[Message], int] | None = None
    # Formats a unary response (its argument: --json given) in place of the generic rendering.
    render: Callable[[Message, bool], str] | None = None

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def paged(self) -> bool:
        return "page_token" in self.method.input_type.fields_by_name

    @property
    def items_field(self) -> str | None:
        for f in self.method.output_type.fields:
            if f.is_repeated and f.message_type is not None:
                return str(f.name)
        return None


def methods(service: ServiceDescriptor) -> dict[str, MethodDescriptor]:
    return dict(service.methods_by_name)


def add_command(
    subparsers: Any, command: Command, parents: Sequence[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser(
        command.name,
        help=command.help,
        description=command.help,
        parents=list(parents),
    )
    for item in command.args:
        item.add_to(parser)
    if command.paged:
        parser.add_argument("--page-size", type=int, help="fetch one page of this size")
        parser.add_argument("--page-token", help="fetch the page after this token")
    parser.set_defaults(command=command)


def build_request(command: Command, ns: argparse.Namespace) -> Message:
    """The request message: every request field whose namesake in `ns` is set."""
    if command.prepare is not None:
        command.prepare(ns)
    values = {
        f.name: getattr(ns, f.name)
        for f in command.method.input_type.fields
        if getattr(ns, f.name, None) is not None
    }
    message: Message = GetMessageClass(command.method.input_type)(**values)
    return message
