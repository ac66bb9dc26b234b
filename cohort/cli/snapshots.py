"""Snapshots service (single-volume snapshots)."""

from __future__ import annotations

from cohort.cli.command import DESCRIPTION, NAME_OPT, Command, arg, methods, status_arg
from cohort.v1 import snapshots_pb2

_M = methods(snapshots_pb2.DESCRIPTOR.services_by_name["Snapshots"])
_SNAPSHOT = arg("snapshot_id", metavar="SNAPSHOT", help="snapshot id")

COMMANDS = (
    Command(
        "snapshot-create",
        "Snapshot a volume.",
        _M["CreateSnapshot"],
        (NAME_OPT, DESCRIPTION, arg("volume_id", metavar="VOLUME", help="volume id")),
    ),
    Command("snapshot-show", "Show a snapshot.", _M["GetSnapshot"], (_SNAPSHOT,)),
    Command(
        "snapshot-list",
        "List snapshots.",
        _M["ListSnapshots"],
        (
            status_arg(_M["ListSnapshots"]),
            arg("--volume-id", help="only snapshots of this volume"),
            arg("--group-snapshot-id", help="only members of this group snapshot"),
        ),
        columns=(
            ("ID", "id"),
            ("Volume ID", "volume_id"),
            ("Status", "status"),
            ("Name", "name"),
            ("Size", "size_bytes"),
            ("Group snapshot", "group_snapshot_id"),
        ),
    ),
    Command("snapshot-delete", "Delete a snapshot.", _M["DeleteSnapshot"], (_SNAPSHOT,)),
)
