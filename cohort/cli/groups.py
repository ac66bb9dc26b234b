"""Groups and GroupSnapshots services (generic volume groups, Cinder Newton+)."""

from __future__ import annotations

from cohort.cli.command import (
    DESCRIPTION,
    NAME_OPT,
    Command,
    arg,
    csv_arg,
    methods,
    one_of,
    status_arg,
)
from cohort.v1 import group_snapshots_pb2, groups_pb2

_G = methods(groups_pb2.DESCRIPTOR.services_by_name["Groups"])
_GS = methods(group_snapshots_pb2.DESCRIPTOR.services_by_name["GroupSnapshots"])
_GROUP = arg("group_id", metavar="GROUP", help="group id or name")
_GROUP_SNAPSHOT = arg("group_snapshot_id", metavar="GROUP_SNAPSHOT", help="group snapshot id")

GROUP_COLUMNS = (("ID", "id"), ("Status", "status"), ("Name", "name"), ("Volumes", "volume_ids"))
MEMBERSHIP = (
    csv_arg("--add-volumes", "add_volume_ids", "volumes to add"),
    csv_arg("--remove-volumes", "remove_volume_ids", "volumes to remove"),
)

GROUP_COMMANDS = (
    Command(
        "group-create",
        "Create an empty group.",
        _G["CreateGroup"],
        (
            arg("--group-type", required=True, help="group type id or name"),
            csv_arg("--volume-types", "volume_types", "volume types ids or names", required=True),
            DESCRIPTION,
            arg("name", metavar="NAME", help="group name"),
        ),
    ),
    Command(
        "group-create-from-src",
        "Create a group from a group snapshot or by cloning another group.",
        _G["CreateGroupFromSource"],
        (
            NAME_OPT,
            DESCRIPTION,
            one_of(
                arg("--group-snapshot", dest="group_snapshot_id", help="group snapshot id"),
                arg("--source-group", dest="source_group_id", help="group id or name"),
                required=True,
            ),
        ),
    ),
    Command(
        "group-update",
        "Rename a group or change its volumes.",
        _G["UpdateGroup"],
        (_GROUP, NAME_OPT, DESCRIPTION, *MEMBERSHIP),
    ),
    Command(
        "group-delete",
        "Delete a group.",
        _G["DeleteGroup"],
        (arg("--delete-volumes", action="store_true", help="delete its volumes too"), _GROUP),
    ),
    Command("group-show", "Show a group.", _G["GetGroup"], (_GROUP,)),
    Command(
        "group-list",
        "List groups (consistency groups are listed by consisgroup-list).",
        _G["ListGroups"],
        (status_arg(_G["ListGroups"]),),
        columns=GROUP_COLUMNS,
    ),
)

GROUP_SNAPSHOT_COMMANDS = (
    Command(
        "group-snapshot-create",
        "Snapshot every volume of a group.",
        _GS["CreateGroupSnapshot"],
        (NAME_OPT, DESCRIPTION, _GROUP),
    ),
    Command(
        "group-snapshot-show", "Show a group snapshot.", _GS["GetGroupSnapshot"], (_GROUP_SNAPSHOT,)
    ),
    Command(
        "group-snapshot-list",
        "List group snapshots.",
        _GS["ListGroupSnapshots"],
        (status_arg(_GS["ListGroupSnapshots"]), arg("--group-id", help="only of this group")),
        columns=(("ID", "id"), ("Status", "status"), ("Name", "name"), ("Group ID", "group_id")),
    ),
    Command(
        "group-snapshot-delete",
        "Delete a group snapshot and its snapshots.",
        _GS["DeleteGroupSnapshot"],
        (_GROUP_SNAPSHOT,),
    ),
)

COMMANDS = GROUP_COMMANDS + GROUP_SNAPSHOT_COMMANDS
