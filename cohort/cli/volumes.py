"""Volumes service (cinder create/show/list/extend/delete)."""

from __future__ import annotations

import argparse
import sys

from cohort.cli.command import (
    DESCRIPTION,
    NAME_OPT,
    Command,
    arg,
    methods,
    one_of,
    status_arg,
)
from cohort.cli.parsing import parse_size
from cohort.v1 import volumes_pb2

_M = methods(volumes_pb2.DESCRIPTOR.services_by_name["Volumes"])
_VOLUME = arg("volume_id", metavar="VOLUME", help="volume id")
_SIZE_HELP = "bytes, or with a binary unit: 512M, 10G, 1T (unlike cinder, a bare 10 is 10 bytes)"


def _warn_tiny_size(ns: argparse.Namespace) -> None:
    """Cinder's sizes are GiB; a bare small number here is probably one of those."""
    size = getattr(ns, "size_bytes", None) or getattr(ns, "new_size_bytes", None)
    if size is not None and size < 1 << 20:
        print(f"warning: SIZE {size} means {size} bytes; write {size}G for GiB", file=sys.stderr)


COMMANDS = (
    Command(
        "create",
        "Create a volume, empty or from a snapshot or another volume.",
        _M["CreateVolume"],
        (
            NAME_OPT,
            DESCRIPTION,
            arg("--volume-type", dest="volume_type", metavar="TYPE", help="volume type id or name"),
            one_of(
                arg("--group-id", dest="group_id", metavar="GROUP", help="group id or name"),
                arg(
                    "--consisgroup-id",
                    dest="group_id",
                    metavar="CG",
                    help="consistency group id or name",
                ),
            ),
            one_of(
                arg(
                    "--snapshot-id",
                    dest="snapshot_id",
                    metavar="SNAPSHOT",
                    help="create from this snapshot",
                ),
                arg("--source-volid", dest="volume_id", metavar="VOLUME", help="clone this volume"),
            ),
            arg("size_bytes", metavar="SIZE", type=parse_size, help=_SIZE_HELP),
        ),
        prepare=_warn_tiny_size,
    ),
    Command("show", "Show a volume.", _M["GetVolume"], (_VOLUME,)),
    Command(
        "list",
        "List volumes.",
        _M["ListVolumes"],
        (status_arg(_M["ListVolumes"]), arg("--group-id", help="only members of this group")),
        columns=(
            ("ID", "id"),
            ("Name", "name"),
            ("Status", "status"),
            ("Size", "size_bytes"),
            ("Volume type", "volume_type_id"),
            ("Group", "group_id"),
        ),
    ),
    Command(
        "extend",
        "Grow a volume.",
        _M["ExtendVolume"],
        (_VOLUME, arg("new_size_bytes", metavar="NEW_SIZE", type=parse_size, help=_SIZE_HELP)),
        prepare=_warn_tiny_size,
    ),
    Command("delete", "Delete a volume.", _M["DeleteVolume"], (_VOLUME,)),
)
