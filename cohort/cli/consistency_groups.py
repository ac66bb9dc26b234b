"""ConsistencyGroups service: the legacy CG verbs of cinderclient (seeds 000 and 001)."""

from __future__ import annotations

import argparse

from cohort.cli.command import (
    DESCRIPTION,
    NAME_OPT,
    Command,
    UsageError,
    arg,
    csv_arg,
    methods,
    one_of,
    status_arg,
)
from cohort.cli.groups import GROUP_COLUMNS, MEMBERSHIP
from cohort.v1 import consistency_groups_pb2

_M = methods(consistency_groups_pb2.DESCRIPTOR.services_by_name["ConsistencyGroups"])
_CG = arg("consistencygroup_id", metavar="CONSISTENCYGROUP", help="consistency group id or name")
_CGSNAPSHOT = arg("cgsnapshot_id", metavar="CGSNAPSHOT", help="cgsnapshot id or name")


def _merge_name(ns: argparse.Namespace) -> None:
    """`consisgroup-create` takes the name positionally (seed 001) or as --name."""
    positional = ns.name_arg
    if positional is not None and ns.name is not None and positional != ns.name:
        raise UsageError(f"two names given: {ns.name!r} and {positional!r}")
    ns.name = ns.name if ns.name is not None else positional


COMMANDS = (
    Command(
        "consisgroup-create",
        "Create an empty consistency group "
        "(cinder consisgroup-create --volume-type type1,type2 mycg1).",
        _M["CreateConsistencyGroup"],
        (
            NAME_OPT,
            DESCRIPTION,
            csv_arg("--volume-type", "volume_types", "volume types ids or names", required=True),
            arg("name_arg", metavar="NAME", nargs="?", help="consistency group name"),
        ),
        prepare=_merge_name,
    ),
    Command(
        "consisgroup-create-from-src",
        "Create a consistency group from a cgsnapshot or by cloning another consistency group.",
        _M["CreateConsistencyGroupFromSource"],
        (
            NAME_OPT,
            DESCRIPTION,
            one_of(
                arg("--consistencygroup", dest="consistencygroup_id", help="CG id or name"),
                arg("--cgsnapshot", dest="cgsnapshot_id", help="cgsnapshot id or name"),
                required=True,
            ),
        ),
    ),
    Command(
        "consisgroup-update",
        "Rename a consistency group or change its volumes.",
        _M["UpdateConsistencyGroup"],
        (_CG, NAME_OPT, DESCRIPTION, *MEMBERSHIP),
    ),
    Command(
        "consisgroup-delete",
        "Delete a consistency group.",
        _M["DeleteConsistencyGroup"],
        (
            arg("--force", dest="delete_volumes", action="store_true", help="delete its volumes"),
            _CG,
        ),
    ),
    Command("consisgroup-show", "Show a consistency group.", _M["GetConsistencyGroup"], (_CG,)),
    Command(
        "consisgroup-list",
        "List consistency groups.",
        _M["ListConsistencyGroups"],
        (status_arg(_M["ListConsistencyGroups"]),),
        columns=GROUP_COLUMNS,
    ),
    Command(
        "cgsnapshot-create",
        "Snapshot every volume of a consistency group (cinder cgsnapshot-create CG).",
        _M["CreateCgsnapshot"],
        (NAME_OPT, DESCRIPTION, _CG),
    ),
    Command("cgsnapshot-show", "Show a cgsnapshot.", _M["GetCgsnapshot"], (_CGSNAPSHOT,)),
    Command(
        "cgsnapshot-list",
        "List cgsnapshots.",
        _M["ListCgsnapshots"],
        (
            status_arg(_M["ListCgsnapshots"]),
            arg("--consistencygroup-id", help="only of this consistency group"),
        ),
        columns=(
            ("ID", "id"),
            ("Status", "status"),
            ("Name", "name"),
            ("Consistency group", "consistencygroup_id"),
        ),
    ),
    Command("cgsnapshot-delete", "Delete a cgsnapshot.", _M["DeleteCgsnapshot"], (_CGSNAPSHOT,)),
)
