"""cohortctl's export commands against the in-process cohortd (real servicers, the simulated
backend, the in-memory target): what it prints is what the daemon answered."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from cohort.iscsi.memory import MemoryTargets
from cohort.v1 import types_pb2, volumes_pb2
from tests.inprocess import Daemon

from .conftest import cli_for
from .fakes import Cli

IQN = "iqn.1994-05.com.example:host-a"
OTHER = "iqn.1994-05.com.example:host-b"


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """The daemon's log events, kept off the stdout that cohortctl prints to."""
    with structlog.testing.capture_logs() as events:
        yield events


@pytest.fixture
def daemon(tmp_path: Path, logs: list[MutableMapping[str, Any]]) -> Iterator[Daemon]:
    running = Daemon(tmp_path / "cohortd.sock")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def ctl(daemon: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return cli_for(f"unix://{tmp_path / 'cohortd.sock'}", capsys)


def volume_id(daemon: Daemon) -> str:
    daemon.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="plain"))
    request = volumes_pb2.CreateVolumeRequest(name="v1", size_bytes=64 << 20, volume_type="plain")
    return str(daemon.volumes.CreateVolume(request).id)


def test_export_list_unexport_round_trip(
    daemon: Daemon, ctl: Cli, logs: list[MutableMapping[str, Any]]
) -> None:
    vol = volume_id(daemon)
    result = ctl("export", vol, "--initiator", IQN, "--host", "host-a", "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["driver_volume_type"] == "iscsi"
    data = info["data"]
    assert data["volume_id"] == vol and data["auth_method"] == "CHAP"
    targets = daemon.manager.exports.targets
    assert isinstance(targets, MemoryTargets)
    assert targets.login(data["target_iqn"], IQN, data["auth_username"], data["auth_password"])

    assert ctl("export", vol, "--initiator", OTHER, "--attachment-id", "att-1").code == 0
    assert ctl("export", vol, "--initiator", OTHER, "--attachment-id", "att-2").code == 0
    listed = ctl("export-list", "--object", vol)
    assert listed.code == 0, listed.err
    assert data["target_iqn"] in listed.out
    assert f"{OTHER} (2 attachments)" in listed.out
    assert data["auth_password"] not in ctl("export-list", "--json").out

    assert ctl("delete", vol).code == 6  # FAILED_PRECONDITION while exported
    assert ctl("unexport", vol).code == 2
    gone = ctl("unexport", vol, "--all", "--json")
    assert gone.code == 0, gone.err
    assert json.loads(gone.out) == {"removed_initiators": [IQN, OTHER], "target_removed": True}
    assert ctl("unexport", vol, "--all").code == 4  # nothing left: NOT_FOUND
    assert ctl("export-snapshot", str(uuid.uuid4()), "--initiator", IQN).code == 4
    assert ctl("export-snapshot", "not-an-id", "--initiator", IQN).code == 3
    assert ctl("export", vol, "--initiator", "not an iqn").code == 3
    assert any(event["event"] == "exported" for event in logs)
    assert data["auth_password"] not in repr(logs)
