"""Exports service: iSCSI exports of volumes and snapshots, with os-brick's connection info."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from cohort.cli.command import Command, UsageError, arg, methods, one_of
from cohort.cli.output import dump_json, render_table
from cohort.v1 import exports_pb2

_M = methods(exports_pb2.DESCRIPTOR.services_by_name["Exports"])

INITIATOR_NAME_FILE = Path("/etc/iscsi/initiatorname.iscsi")
"""Where open-iscsi keeps this host's initiator name (read when --initiator is not given)."""


def read_initiator_name(path: Path) -> str:
    """The IQN of open-iscsi's ``InitiatorName=`` line in `path` (comments are skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"no --initiator given and cannot read {path}: {exc.strerror or exc}"
        ) from exc
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "InitiatorName" and value.strip():
            return value.strip()
    raise UsageError(f"no --initiator given and no InitiatorName= line in {path}")


def _export_connector(ns: argparse.Namespace) -> None:
    """os-brick's connector properties from the command line and this host."""
    ns.connector = exports_pb2.Connector(
        initiator=ns.initiator or read_initiator_name(INITIATOR_NAME_FILE),
        host=ns.host or socket.gethostname(),
        ip=ns.ip or "",
        multipath=ns.multipath,
    )


def _unexport_connector(ns: argparse.Namespace) -> None:
    """One initiator's access, or with --all every access (no connector)."""
    if ns.initiator is None and not ns.all:
        raise UsageError("name the initiator with --initiator IQN, or remove every one with --all")
    if ns.attachment_id is not None and ns.initiator is None:
        raise UsageError("--attachment-id needs --initiator (an attachment is one initiator's)")
    if ns.initiator is not None:
        ns.connector = exports_pb2.Connector(initiator=ns.initiator)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return "\n".join(str(item) for item in value) or "-"
    return "-" if value is None or value == "" else str(value)


def _connection(response: Message, as_json: bool) -> str:
    """The connection info os-brick consumes: exactly its dict with --json, else a table of
    its `data` (the CHAP password included: this caller is the one it is for)."""
    info: dict[str, Any] = json.loads(getattr(response, "connection_info_json"))  # noqa: B009
    if as_json:
        return dump_json(info)
    rows = [["driver_volume_type", _cell(info["driver_volume_type"])]]
    rows += [[key, _cell(value)] for key, value in info["data"].items()]
    return render_table(["Property", "Value"], rows)


def _initiators(export: Message) -> str:
    """One line per initiator, with how many attachments share its access (when several)."""
    lines = []
    for access in getattr(export, "accesses"):  # noqa: B009
        count = access.attachments
        suffix = f" ({count} attachments)" if count > 1 else ""
        lines.append(f"{access.initiator}{suffix}")
    return "\n".join(lines) or "-"


_INITIATOR_HELP = (
    "the initiator's IQN (default: the InitiatorName= line of "
    f"{INITIATOR_NAME_FILE}, this host's open-iscsi name)"
)
_CONNECTOR = (
    arg("--initiator", metavar="IQN", help=_INITIATOR_HELP),
    arg("--host", metavar="HOST", help="the initiator's host name (default: this host's)"),
    arg("--ip", metavar="IP", help="the initiator's address (os-brick's connector `ip`)"),
    arg("--multipath", action="store_true", help="the host attaches with multipath"),
    arg(
        "--attachment-id",
        metavar="ID",
        help="one attachment of the object on this host (e.g. Cinder's attachment id)",
    ),
)


def _export(name: str, summary: str, method: str, object_arg: str, metavar: str) -> Command:
    return Command(
        name,
        summary,
        _M[method],
        (arg(object_arg, metavar=metavar, help=f"{metavar.lower()} id"), *_CONNECTOR),
        prepare=_export_connector,
        render=_connection,
    )


COMMANDS = (
    _export(
        "export",
        "Export a volume over iSCSI to an initiator; print its connection info "
        "(with --json: the dict os-brick's connect_volume takes).",
        "ExportVolume",
        "volume_id",
        "VOLUME",
    ),
    _export(
        "export-snapshot",
        "Export a snapshot over iSCSI, read-only, to an initiator; print its connection info.",
        "ExportSnapshot",
        "snapshot_id",
        "SNAPSHOT",
    ),
    Command(
        "unexport",
        "Remove an initiator's access (or one attachment of it), or with --all every access; "
        "the target goes with the last access.",
        _M["Unexport"],
        (
            arg("object_id", metavar="OBJECT", help="volume or snapshot id"),
            one_of(
                arg("--initiator", metavar="IQN", help="the initiator whose access goes"),
                arg("--all", action="store_true", help="remove every initiator's access"),
            ),
            arg("--attachment-id", metavar="ID", help="only this attachment of the initiator"),
        ),
        prepare=_unexport_connector,
    ),
    Command(
        "export-list",
        "List exports and the initiators allowed on each (secrets are never listed).",
        _M["ListExports"],
        (
            arg("--object", dest="object_id", metavar="ID", help="only this volume or snapshot"),
            arg("--initiator", metavar="IQN", help="only exports this initiator may log in to"),
        ),
        columns=(
            ("Object ID", "object_id"),
            ("Kind", "kind"),
            ("Target IQN", "target_iqn"),
            ("Serial", "serial"),
            ("Read-only", "read_only"),
            ("Initiators", _initiators),
        ),
    ),
)
