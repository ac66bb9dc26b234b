"""argv -> request: every command reaches its RPC with the fields the command line gave."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict

from cohort.cli.main import COMMANDS

from .fakes import SERVICES, Cli, Server

GiB = 1 << 30
MiB = 1 << 20
IQN = "iqn.1994-05.com.example:host-a"

# (argv, RPC, the request as MessageToDict(preserving_proto_field_name=True) shows it)
CASES: list[tuple[list[str], str, dict[str, Any]]] = [
    # Types
    (
        ["type-create", "gold", "--description", "fast", "--spec", "a=1", "--spec", "b = x=y"],
        "CreateVolumeType",
        {"name": "gold", "description": "fast", "extra_specs": {"a": "1", "b": "x=y"}},
    ),
    (["type-show", "gold"], "GetVolumeType", {"volume_type": "gold"}),
    (["type-delete", "gold"], "DeleteVolumeType", {"volume_type": "gold"}),
    (["type-list"], "ListVolumeTypes", {}),
    (
        ["group-type-create", "gt", "--spec", "consistent_group_snapshot_enabled=<is> True"],
        "CreateGroupType",
        {"name": "gt", "group_specs": {"consistent_group_snapshot_enabled": "<is> True"}},
    ),
    (["group-type-show", "gt"], "GetGroupType", {"group_type": "gt"}),
    (["group-type-delete", "gt"], "DeleteGroupType", {"group_type": "gt"}),
    (["group-type-list"], "ListGroupTypes", {}),
    # Volumes, including seed 001's `cinder create --volume-type type1 --consisgroup-id <CG> 10`
    (
        ["create", "--volume-type", "type1", "--consisgroup-id", "cg-1", "10G"],
        "CreateVolume",
        {"volume_type": "type1", "group_id": "cg-1", "size_bytes": str(10 * GiB)},
    ),
    (
        ["create", "--name", "v1", "--description", "d", "--group-id", "g1", "1073741824"],
        "CreateVolume",
        {"name": "v1", "description": "d", "group_id": "g1", "size_bytes": str(GiB)},
    ),
    (
        ["create", "--snapshot-id", "snap-1", "512M"],
        "CreateVolume",
        {"snapshot_id": "snap-1", "size_bytes": str(512 * MiB)},
    ),
    (
        ["create", "--source-volid", "vol-1", "1.5G"],
        "CreateVolume",
        {"volume_id": "vol-1", "size_bytes": str(3 * GiB // 2)},
    ),
    (["show", "vol-1"], "GetVolume", {"volume_id": "vol-1"}),
    (
        ["list", "--status", "in-use", "--group-id", "g1"],
        "ListVolumes",
        {"status": "VOLUME_STATUS_IN_USE", "group_id": "g1"},
    ),
    (
        ["extend", "vol-1", "20GiB"],
        "ExtendVolume",
        {"volume_id": "vol-1", "new_size_bytes": str(20 * GiB)},
    ),
    (["delete", "vol-1"], "DeleteVolume", {"volume_id": "vol-1"}),
    # Snapshots
    (
        ["snapshot-create", "--name", "s1", "--description", "d", "vol-1"],
        "CreateSnapshot",
        {"volume_id": "vol-1", "name": "s1", "description": "d"},
    ),
    (["snapshot-show", "snap-1"], "GetSnapshot", {"snapshot_id": "snap-1"}),
    (
        [
            "snapshot-list",
            "--status",
            "error_deleting",
            "--volume-id",
            "v",
            "--group-snapshot-id",
            "gs",
        ],
        "ListSnapshots",
        {"status": "SNAPSHOT_STATUS_ERROR_DELETING", "volume_id": "v", "group_snapshot_id": "gs"},
    ),
    (["snapshot-delete", "snap-1"], "DeleteSnapshot", {"snapshot_id": "snap-1"}),
    # Groups
    (
        [
            "group-create",
            "--group-type",
            "gt",
            "--volume-types",
            "t1, t2",
            "--description",
            "d",
            "g1",
        ],
        "CreateGroup",
        {"name": "g1", "description": "d", "group_type": "gt", "volume_types": ["t1", "t2"]},
    ),
    (
        ["group-create-from-src", "--name", "g2", "--description", "d", "--group-snapshot", "gs"],
        "CreateGroupFromSource",
        {"name": "g2", "description": "d", "group_snapshot_id": "gs"},
    ),
    (
        ["group-create-from-src", "--name", "g3", "--source-group", "g1"],
        "CreateGroupFromSource",
        {"name": "g3", "source_group_id": "g1"},
    ),
    (
        ["group-update", "g1", "--name", "g9", "--add-volumes", "a,b", "--remove-volumes", "c"],
        "UpdateGroup",
        {"group_id": "g1", "name": "g9", "add_volume_ids": ["a", "b"], "remove_volume_ids": ["c"]},
    ),
    (
        ["group-update", "g1", "--description", ""],
        "UpdateGroup",
        {"group_id": "g1", "description": ""},
    ),
    (["group-delete", "g1"], "DeleteGroup", {"group_id": "g1"}),
    (
        ["group-delete", "--delete-volumes", "g1"],
        "DeleteGroup",
        {"group_id": "g1", "delete_volumes": True},
    ),
    (["group-show", "g1"], "GetGroup", {"group_id": "g1"}),
    (["group-list", "--status", "available"], "ListGroups", {"status": "GROUP_STATUS_AVAILABLE"}),
    # Group snapshots
    (
        ["group-snapshot-create", "--name", "gs1", "g1"],
        "CreateGroupSnapshot",
        {"group_id": "g1", "name": "gs1"},
    ),
    (["group-snapshot-show", "gs1"], "GetGroupSnapshot", {"group_snapshot_id": "gs1"}),
    (
        ["group-snapshot-list", "--group-id", "g1"],
        "ListGroupSnapshots",
        {"group_id": "g1"},
    ),
    (["group-snapshot-delete", "gs1"], "DeleteGroupSnapshot", {"group_snapshot_id": "gs1"}),
    # Consistency groups: the seeds' verbs
    (
        ["consisgroup-create", "--volume-type", "type1,type2", "mycg1"],
        "CreateConsistencyGroup",
        {"name": "mycg1", "volume_types": ["type1", "type2"]},
    ),
    (
        ["consisgroup-create", "--name", "cg", "--description", "d", "--volume-type", "t1"],
        "CreateConsistencyGroup",
        {"name": "cg", "description": "d", "volume_types": ["t1"]},
    ),
    (
        [
            "consisgroup-create-from-src",
            "--name",
            "cg2",
            "--description",
            "clone",
            "--consistencygroup",
            "mycg1",
        ],
        "CreateConsistencyGroupFromSource",
        {"name": "cg2", "description": "clone", "consistencygroup_id": "mycg1"},
    ),
    (
        ["consisgroup-create-from-src", "--name", "cg3", "--description", "d", "--cgsnapshot", "s"],
        "CreateConsistencyGroupFromSource",
        {"name": "cg3", "description": "d", "cgsnapshot_id": "s"},
    ),
    (
        ["consisgroup-update", "cg", "--add-volumes", "v1,v2", "--remove-volumes", "v3"],
        "UpdateConsistencyGroup",
        {"consistencygroup_id": "cg", "add_volume_ids": ["v1", "v2"], "remove_volume_ids": ["v3"]},
    ),
    (["consisgroup-delete", "cg"], "DeleteConsistencyGroup", {"consistencygroup_id": "cg"}),
    (
        ["consisgroup-delete", "--force", "cg"],
        "DeleteConsistencyGroup",
        {"consistencygroup_id": "cg", "delete_volumes": True},
    ),
    (["consisgroup-show", "cg"], "GetConsistencyGroup", {"consistencygroup_id": "cg"}),
    (["consisgroup-list"], "ListConsistencyGroups", {}),
    (["cgsnapshot-create", "mycg1"], "CreateCgsnapshot", {"consistencygroup_id": "mycg1"}),
    (
        ["cgsnapshot-create", "--name", "cs", "--description", "d", "mycg1"],
        "CreateCgsnapshot",
        {"consistencygroup_id": "mycg1", "name": "cs", "description": "d"},
    ),
    (["cgsnapshot-show", "cs"], "GetCgsnapshot", {"cgsnapshot_id": "cs"}),
    (
        ["cgsnapshot-list", "--consistencygroup-id", "cg", "--status", "error"],
        "ListCgsnapshots",
        {"consistencygroup_id": "cg", "status": "SNAPSHOT_STATUS_ERROR"},
    ),
    (["cgsnapshot-delete", "cs"], "DeleteCgsnapshot", {"cgsnapshot_id": "cs"}),
    # Exports: os-brick's connector properties
    (
        ["export", "vol-1", "--initiator", IQN, "--host", "h1", "--ip", "127.0.0.1", "--multipath"],
        "ExportVolume",
        {
            "volume_id": "vol-1",
            "connector": {"initiator": IQN, "host": "h1", "ip": "127.0.0.1", "multipath": True},
        },
    ),
    (
        ["export-snapshot", "snap-1", "--initiator", IQN, "--host", "h1", "--attachment-id", "a1"],
        "ExportSnapshot",
        {
            "snapshot_id": "snap-1",
            "connector": {"initiator": IQN, "host": "h1"},
            "attachment_id": "a1",
        },
    ),
    (
        ["unexport", "vol-1", "--initiator", IQN, "--attachment-id", "a1"],
        "Unexport",
        {"object_id": "vol-1", "connector": {"initiator": IQN}, "attachment_id": "a1"},
    ),
    (["unexport", "snap-1", "--all"], "Unexport", {"object_id": "snap-1"}),
    (
        ["export-list", "--object", "vol-1", "--initiator", IQN],
        "ListExports",
        {"object_id": "vol-1", "initiator": IQN},
    ),
    # Capabilities
    (["get-capabilities"], "GetCapabilities", {}),
]


@pytest.mark.parametrize(
    ("argv", "rpc", "expected"), CASES, ids=[" ".join(argv) for argv, _, _ in CASES]
)
def test_argv_maps_to_request(
    cli: Cli, server: Server, argv: list[str], rpc: str, expected: dict[str, Any]
) -> None:
    result = cli(*argv)
    assert result.code == 0, result.err
    request = server.backend.last(rpc)
    assert MessageToDict(request, preserving_proto_field_name=True) == expected


def test_update_without_name_leaves_optional_fields_unset(cli: Cli, server: Server) -> None:
    assert cli("group-update", "g1", "--add-volumes", "v1").code == 0
    request = server.backend.last("UpdateGroup")
    assert not request.HasField("name")
    assert not request.HasField("description")


def test_names_starting_with_a_dash_pass_after_double_dash(cli: Cli, server: Server) -> None:
    assert cli("type-create", "--", "-odd").code == 0
    assert server.backend.last("CreateVolumeType").name == "-odd"


def test_options_are_accepted_after_the_subcommand(cli: Cli, server: Server) -> None:
    result = cli("show", "vol-1", "--json")
    assert result.code == 0
    assert result.out.strip() == "{}"


def test_every_rpc_has_a_command() -> None:
    covered = {c.method.full_name for c in COMMANDS}
    for pb2, _, service in SERVICES:
        for method in pb2.DESCRIPTOR.services_by_name[service].methods:
            assert method.full_name in covered, f"no cohortctl command for {method.full_name}"
    assert "grpc.health.v1.Health.Check" in covered
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))


def test_cases_cover_every_unary_command() -> None:
    tested = {argv[0] for argv, _, _ in CASES}
    untested = {c.name for c in COMMANDS} - tested - {"watch-capabilities", "health"}
    assert not untested
