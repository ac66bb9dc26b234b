"""Types service: volume types and group types."""

from __future__ import annotations

from cohort.cli.command import DESCRIPTION, Command, arg, methods, spec_arg
from cohort.v1 import types_pb2

_M = methods(types_pb2.DESCRIPTOR.services_by_name["Types"])
_COLUMNS = (("ID", "id"), ("Name", "name"), ("Description", "description"))


def _commands(prefix: str, kind: str, rpc: str, field: str, specs: str) -> tuple[Command, ...]:
    ref = arg(field, metavar=kind.upper().replace(" ", "_"), help=f"{kind} id or name")
    return (
        Command(
            f"{prefix}-create",
            f"Create a {kind}.",
            _M[f"Create{rpc}"],
            (arg("name", help=f"{kind} name"), DESCRIPTION, spec_arg(specs, f"{kind} spec")),
        ),
        Command(f"{prefix}-show", f"Show a {kind}.", _M[f"Get{rpc}"], (ref,)),
        Command(
            f"{prefix}-list",
            f"List {kind}s.",
            _M[f"List{rpc}s"],
            columns=(*_COLUMNS, ("Specs", specs)),
        ),
        Command(
            f"{prefix}-delete",
            f"Delete a {kind} (refused while in use).",
            _M[f"Delete{rpc}"],
            (ref,),
        ),
    )


COMMANDS = (
    *_commands("type", "volume type", "VolumeType", "volume_type", "extra_specs"),
    *_commands("group-type", "group type", "GroupType", "group_type", "group_specs"),
)
