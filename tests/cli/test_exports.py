"""export, export-snapshot, unexport, export-list: the connector, the connection info as a table
and as os-brick's exact dict, the --all rule, the local initiator name, listing and errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import grpc
import pytest

from cohort.cli import exports
from cohort.cli.command import UsageError
from cohort.v1 import exports_pb2

from .fakes import CONNECTION_INFO, Cli, Server

IQN = "iqn.1994-05.com.example:host-a"
OTHER = "iqn.1994-05.com.example:host-b"


def table(text: str) -> dict[str, str]:
    """A Property/Value table as a dict (a multi-line value's lines joined by newlines)."""
    rows: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0]:
            key = cells[0]
            rows[key] = cells[1]
        else:
            rows[key] += "\n" + cells[1]
    return rows


@pytest.fixture
def initiator_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "initiatorname.iscsi"
    monkeypatch.setattr(exports, "INITIATOR_NAME_FILE", path)
    return path


def test_initiator_name_is_read_from_open_iscsis_file(tmp_path: Path) -> None:
    path = tmp_path / "initiatorname.iscsi"
    path.write_text(
        "## DO NOT EDIT OR REMOVE THIS FILE!\n"
        "#InitiatorName=iqn.1993-08.org.debian:01:commented\n"
        "\n"
        f"  InitiatorName = {IQN}  \n"
        "InitiatorAlias=node1\n"
    )
    assert exports.read_initiator_name(path) == IQN


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "InitiatorName=\n", "InitiatorAlias=x\n"]
)
def test_a_file_without_an_initiator_name_is_a_usage_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "initiatorname.iscsi"
    path.write_text(text)
    with pytest.raises(UsageError, match="no InitiatorName= line"):
        exports.read_initiator_name(path)


def test_export_defaults_to_the_local_initiator_and_host(
    cli: Cli, server: Server, initiator_file: Path
) -> None:
    initiator_file.write_text(f"InitiatorName={IQN}\n")
    assert cli("export", "vol-1").code == 0
    connector = server.backend.last("ExportVolume").connector
    assert connector.initiator == IQN
    assert connector.host == socket.gethostname()
    assert connector.ip == ""
    assert not connector.multipath


def test_export_without_initiator_or_its_file_is_a_clear_usage_error(
    cli: Cli, server: Server, initiator_file: Path
) -> None:
    result = cli("export-snapshot", "snap-1")
    assert result.code == 2
    assert "no --initiator given" in result.err
    assert str(initiator_file) in result.err
    assert server.backend.calls == []


def test_export_prints_the_connection_data_with_the_chap_password(cli: Cli) -> None:
    result = cli("export", "vol-1", "--initiator", IQN)
    assert result.code == 0, result.err
    rows = table(result.out)
    assert rows["driver_volume_type"] == "iscsi"
    assert rows["target_iqn"] == "iqn.2026-12.org.cohort:volume-vol-1"
    assert rows["target_lun"] == "0"
    assert rows["auth_password"] == "secret-1"
    assert rows["target_discovered"] == "False"
    assert list(rows) == ["Property", "driver_volume_type", *CONNECTION_INFO["data"]]


def test_export_json_is_exactly_the_connection_info(cli: Cli, server: Server) -> None:
    info: dict[str, Any] = {
        "driver_volume_type": "iscsi",
        "data": {
            **CONNECTION_INFO["data"],
            "target_portals": ["127.0.0.1:3260", "127.0.0.2:3260"],
            "target_iqns": ["iqn.x", "iqn.x"],
            "target_luns": [0, 0],
            "access_mode": "ro",
        },
    }
    server.backend.replies["ExportSnapshot"] = exports_pb2.Connection(
        driver_volume_type="iscsi",
        data=exports_pb2.IscsiProperties(target_iqn="ignored: the JSON is the answer"),
        connection_info_json=json.dumps(info),
    )
    result = cli("export-snapshot", "snap-1", "--initiator", IQN, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == info
    rows = table(cli("export-snapshot", "snap-1", "--initiator", IQN).out)
    assert rows["target_portals"] == "127.0.0.1:3260\n127.0.0.2:3260"


def test_unexport_without_initiator_needs_all(cli: Cli, server: Server) -> None:
    result = cli("unexport", "vol-1")
    assert result.code == 2
    assert "--all" in result.err and "--initiator" in result.err
    assert server.backend.calls == []
    server.backend.replies["Unexport"] = exports_pb2.UnexportResponse(
        removed_initiators=[IQN, OTHER], target_removed=True
    )
    result = cli("unexport", "vol-1", "--all")
    assert result.code == 0, result.err
    assert not server.backend.last("Unexport").HasField("connector")
    rows = table(result.out)
    assert rows["removed_initiators"] == f"{IQN}\n{OTHER}"
    assert rows["target_removed"] == "True"


def export(object_id: str, *initiators: tuple[str, list[str]]) -> exports_pb2.Export:
    return exports_pb2.Export(
        object_id=object_id,
        kind=exports_pb2.EXPORT_KIND_SNAPSHOT
        if object_id.startswith("snap")
        else exports_pb2.EXPORT_KIND_VOLUME,
        target_iqn=f"iqn.2026-12.org.cohort:{object_id}",
        serial=f"serial-{object_id}",
        read_only=object_id.startswith("snap"),
        accesses=[
            exports_pb2.Access(
                initiator=i,
                attachment_ids=a,
                attachments=max(len(a), 1),
                auth_username=f"user-{i[-1]}",
            )
            for i, a in initiators
        ],
    )


def test_export_list_pages_through_everything(cli: Cli, server: Server) -> None:
    pages = {
        "": exports_pb2.ListExportsResponse(
            exports=[export("vol-1", (IQN, ["a1", "a2"]), (OTHER, []))], next_page_token="p2"
        ),
        "p2": exports_pb2.ListExportsResponse(exports=[export("snap-1", (IQN, ["b1"]))]),
    }
    server.backend.replies["ListExports"] = lambda request: pages[request.page_token]
    result = cli("export-list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = [cell.strip() for cell in lines[1].strip("|").split("|")]
    assert header == ["Object ID", "Kind", "Target IQN", "Serial", "Read-only", "Initiators"]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[3:-1]]
    assert rows == [
        ["vol-1", "volume", "iqn.2026-12.org.cohort:vol-1", "serial-vol-1", "False",
         f"{IQN} (2 attachments)"],
        ["", "", "", "", "", OTHER],
        ["snap-1", "snapshot", "iqn.2026-12.org.cohort:snap-1", "serial-snap-1", "True", IQN],
    ]  # fmt: skip
    assert [r.page_token for r in server.backend.requests("ListExports")] == ["", "p2"]
    listed = json.loads(cli("export-list", "--json").out)
    assert [e["object_id"] for e in listed["exports"]] == ["vol-1", "snap-1"]
    assert "password" not in cli("export-list", "--json").out


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 3),
        (grpc.StatusCode.NOT_FOUND, 4),
        (grpc.StatusCode.FAILED_PRECONDITION, 6),
    ],
)
def test_export_errors_exit_with_their_status_class(
    cli: Cli, server: Server, code: grpc.StatusCode, exit_code: int
) -> None:
    server.backend.replies["ExportVolume"] = code
    server.backend.replies["Unexport"] = code
    for argv in (["export", "vol-1", "--initiator", IQN], ["unexport", "vol-1", "--all"]):
        result = cli(*argv)
        assert result.code == exit_code
        assert result.out == ""
        assert result.err.startswith(f"ERROR: {code.name}: ")
