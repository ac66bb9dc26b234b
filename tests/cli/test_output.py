"""Tables for people, JSON for scripts, paging, streaming, health."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2

from cohort.v1 import (
    capabilities_pb2,
    common_pb2,
    consistency_groups_pb2,
    group_snapshots_pb2,
    groups_pb2,
    volumes_pb2,
)

from .fakes import Cli, Server

GiB = 1 << 30


def volume(
    n: int, status: common_pb2.VolumeStatus.ValueType = common_pb2.VOLUME_STATUS_AVAILABLE
) -> volumes_pb2.Volume:
    return volumes_pb2.Volume(
        id=f"vol-{n}",
        name=f"volume{n}",
        size_bytes=10 * GiB,
        volume_type_id="type-1",
        group_id="grp-1" if n % 2 else "",
        status=status,
    )


def test_list_table_is_aligned_with_cinder_statuses(cli: Cli, server: Server) -> None:
    server.backend.replies["ListVolumes"] = volumes_pb2.ListVolumesResponse(
        volumes=[
            volume(1, common_pb2.VOLUME_STATUS_IN_USE),
            volume(2, common_pb2.VOLUME_STATUS_ERROR_DELETING),
            volume(3),
        ]
    )
    result = cli("list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len({len(line) for line in lines}) == 1, result.out
    assert lines[0].startswith("+-") and lines[-1].startswith("+-")
    header = [cell.strip() for cell in lines[1].strip("|").split("|")]
    assert header == ["ID", "Name", "Status", "Size", "Volume type", "Group"]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[3:-1]]
    assert rows[0] == ["vol-1", "volume1", "in-use", "10 GiB", "type-1", "grp-1"]
    assert rows[1][2] == "error_deleting"
    assert rows[2][2] == "available"
    assert rows[1][5] == "-"


def test_show_is_a_property_table_with_sizes_in_bytes(cli: Cli, server: Server) -> None:
    reply = volume(1, common_pb2.VOLUME_STATUS_IN_USE)
    reply.created_at.FromSeconds(1_700_000_000)
    server.backend.replies["GetVolume"] = reply
    result = cli("show", "vol-1")
    assert result.code == 0
    rows = {
        cells[0].strip(): cells[1].strip()
        for line in result.out.splitlines()
        if line.startswith("|") and len(cells := line.strip("|").split("|")) == 2
    }
    assert rows["status"] == "in-use"
    assert rows["size_bytes"] == f"10 GiB ({10 * GiB} bytes)"
    assert rows["created_at"] == "2023-11-14T22:13:20Z"
    assert rows["source_volume_id"] == "-"


def test_multi_valued_cells_take_one_line_each(cli: Cli, server: Server) -> None:
    server.backend.replies["GetConsistencyGroup"] = consistency_groups_pb2.ConsistencyGroup(
        id="cg-1",
        name="mycg1",
        volume_ids=["vol-a", "vol-b"],
        status=common_pb2.GROUP_STATUS_IN_USE,
    )
    out = cli("consisgroup-show", "mycg1").out
    assert "| volume_ids      | vol-a" in out
    assert "|                 | vol-b" in out
    assert "in-use" in out


def test_json_show_is_the_message(cli: Cli, server: Server) -> None:
    reply = volume(1)
    server.backend.replies["CreateVolume"] = reply
    result = cli("--json", "create", "--consisgroup-id", "grp-1", "10G")
    assert result.code == 0
    assert json.loads(result.out) == MessageToDict(reply, preserving_proto_field_name=True)
    assert json.loads(result.out)["status"] == "VOLUME_STATUS_AVAILABLE"


def test_json_list_has_items_and_token(cli: Cli, server: Server) -> None:
    server.backend.replies["ListVolumes"] = volumes_pb2.ListVolumesResponse(volumes=[volume(1)])
    data = json.loads(cli("list", "--json").out)
    assert data == {
        "volumes": [MessageToDict(volume(1), preserving_proto_field_name=True)],
        "next_page_token": "",
    }


def test_delete_prints_nothing_for_people_and_empty_json(cli: Cli, server: Server) -> None:
    assert cli("delete", "vol-1").out == ""
    assert json.loads(cli("--json", "delete", "vol-1").out) == {}


def _pages(total: int) -> Any:
    """ListVolumes over `total` volumes, honouring page_size (default 2) and page_token."""

    def reply(request: volumes_pb2.ListVolumesRequest) -> volumes_pb2.ListVolumesResponse:
        start = int(request.page_token or 0)
        end = min(total, start + (request.page_size or 2))
        token = str(end) if end < total else ""
        return volumes_pb2.ListVolumesResponse(
            volumes=[volume(n) for n in range(start, end)], next_page_token=token
        )

    return reply


def test_lists_page_through_everything_by_default(cli: Cli, server: Server) -> None:
    server.backend.replies["ListVolumes"] = _pages(5)
    data = json.loads(cli("--json", "list", "--status", "available").out)
    assert [v["id"] for v in data["volumes"]] == [f"vol-{n}" for n in range(5)]
    assert data["next_page_token"] == ""
    requests = server.backend.requests("ListVolumes")
    assert [r.page_token for r in requests] == ["", "2", "4"]
    assert {r.status for r in requests} == {common_pb2.VOLUME_STATUS_AVAILABLE}


def test_page_size_fetches_one_page(cli: Cli, server: Server) -> None:
    server.backend.replies["ListVolumes"] = _pages(5)
    data = json.loads(cli("--json", "list", "--page-size", "3").out)
    assert [v["id"] for v in data["volumes"]] == ["vol-0", "vol-1", "vol-2"]
    assert data["next_page_token"] == "3"
    result = cli("list", "--page-size", "3", "--page-token", "3")
    assert "vol-4" in result.out and "vol-2" not in result.out
    assert "next_page_token" not in result.out
    result = cli("list", "--page-size", "1")
    assert result.out.rstrip().endswith("next_page_token: 1")
    assert [r.page_size for r in server.backend.requests("ListVolumes")] == [3, 3, 1]


def test_empty_list_prints_the_header(cli: Cli) -> None:
    result = cli("consisgroup-list")
    assert result.code == 0
    assert "| ID | Status | Name | Volumes |" in result.out


def test_get_capabilities_shows_pools(cli: Cli, server: Server) -> None:
    server.backend.replies["GetCapabilities"] = capabilities_pb2.HostCapabilities(
        host="node1",
        consistencygroup_support=True,
        pools=[
            capabilities_pb2.PoolCapabilities(
                pool_name="thin",
                total_capacity_gb=100.0,
                total_capacity_bytes=100 * GiB,
                thin_provisioning_support=True,
            )
        ],
    )
    out = cli("get-capabilities").out
    assert "consistencygroup_support" in out and "True" in out
    assert "pools[0]" in out
    assert "100.00" in out
    assert f"100 GiB ({100 * GiB} bytes)" in out


def test_watch_capabilities_stops_after_count(cli: Cli, server: Server) -> None:
    done = threading.Event()

    def stream(_: Any) -> Iterator[capabilities_pb2.HostCapabilities]:
        generation = 0
        while not done.is_set() and generation < 1000:
            generation += 1
            yield capabilities_pb2.HostCapabilities(host="node1", generation=generation)

    server.backend.replies["WatchCapabilities"] = stream
    result = cli("--json", "watch-capabilities", "--count", "3")
    done.set()
    assert result.code == 0
    docs = [json.loads(line) for line in result.out.splitlines()]
    assert [d["generation"] for d in docs] == ["1", "2", "3"]


def test_health(cli: Cli, server: Server) -> None:
    result = cli("health")
    assert result.code == 0
    assert "serving" in result.out
    server.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    result = cli("health")
    assert result.code == 9
    assert "not_serving" in result.out
    assert json.loads(cli("--json", "health").out) == {"status": "NOT_SERVING"}


FREEZE = common_pb2.Freeze(
    path=common_pb2.FREEZE_PATH_FREEZE,
    window_seconds=0.125,
    stalls=[
        common_pb2.GateStall(volume_id="vol-a", stall_seconds=0.1),
        common_pb2.GateStall(volume_id="vol-b", stall_seconds=0.025),
    ],
)


def table_rows(out: str) -> list[list[str]]:
    """The cells of each row of a rendered table (continuation lines included)."""
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in out.splitlines()
        if line.startswith("|")
    ]


def test_a_group_snapshot_shows_its_freeze(cli: Cli, server: Server) -> None:
    reply = group_snapshots_pb2.GroupSnapshot(id="gs-1", name="gs", freeze=FREEZE)
    server.backend.replies["GetGroupSnapshot"] = reply
    rows = table_rows(cli("group-snapshot-show", "gs-1").out)
    at = rows.index(["freeze", "path=freeze"])
    assert rows[at + 1 : at + 4] == [
        ["", "window_seconds=0.125"],
        ["", "stall_seconds vol-a=0.1"],
        ["", "stall_seconds vol-b=0.025"],
    ]
    data = json.loads(cli("--json", "group-snapshot-show", "gs-1").out)
    assert data["freeze"] == {
        "path": "FREEZE_PATH_FREEZE",
        "window_seconds": 0.125,
        "stalls": [
            {"volume_id": "vol-a", "stall_seconds": 0.1},
            {"volume_id": "vol-b", "stall_seconds": 0.025},
        ],
    }


def test_a_group_shows_its_freeze_or_a_dash(cli: Cli, server: Server) -> None:
    server.backend.replies["GetGroup"] = groups_pb2.Group(id="g-1", name="g")
    assert ["freeze", "-"] in table_rows(cli("group-show", "g-1").out)
    assert "freeze" not in json.loads(cli("--json", "group-show", "g-1").out)
    clone = groups_pb2.Group(id="g-2", name="clone", source_group_id="g-1", freeze=FREEZE)
    server.backend.replies["GetGroup"] = clone
    assert ["freeze", "path=freeze"] in table_rows(cli("group-show", "g-2").out)
    assert json.loads(cli("--json", "group-show", "g-2").out)["freeze"]["window_seconds"] == 0.125
