"""cohortctl drives the whole scenario against a real cohortd process (sim backend): types, a
group, volumes in it, a group snapshot, a group from it, a clone of the group, the CG verbs, and
the deletes — the way an operator's script would, through `--json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture
def cohortd(tmp_path: Path) -> Iterator[str]:
    socket = tmp_path / "run" / "cohortd.sock"
    config = tmp_path / "cohortd.toml"
    config.write_text(
        f"""
[server]
socket = "{socket}"
[state]
directory = "{tmp_path / "state"}"
[metrics]
address = ""
[backend]
kind = "sim"
"""
    )
    proc = subprocess.Popen(
        [str(BIN / "cohortd"), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"unix://{socket}"
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(BIN / "cohortctl"), "--endpoint", endpoint, "health"],
            capture_output=True,
            check=False,
        ).returncode:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "cohortd did not become healthy"
            time.sleep(0.2)
        yield endpoint
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def ctl(endpoint: str, *args: str) -> Any:
    result = subprocess.run(
        [str(BIN / "cohortctl"), "--endpoint", endpoint, "--json", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COHORT_ENDPOINT": ""},
    )
    assert result.returncode == 0, f"cohortctl {' '.join(args)}: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_full_scenario(cohortd: str) -> None:
    spec = "consistent_group_snapshot_enabled=<is> True"
    ctl(cohortd, "type-create", "--spec", spec, "fast")
    ctl(cohortd, "group-type-create", "--spec", spec, "cgt")
    g1 = ctl(cohortd, "group-create", "--group-type", "cgt", "--volume-types", "fast", "g1")
    for name in ("v1", "v2"):
        ctl(cohortd, "create", "--name", name, "--volume-type", "fast", "--group-id", "g1", "1G")
    assert len(ctl(cohortd, "group-show", "g1")["volume_ids"]) == 2
    gs1 = ctl(cohortd, "group-snapshot-create", "--name", "gs1", "g1")
    assert gs1["status"] == "SNAPSHOT_STATUS_AVAILABLE" and len(gs1["snapshot_ids"]) == 2
    g2 = ctl(cohortd, "group-create-from-src", "--name", "g2", "--group-snapshot", gs1["id"])
    assert g2["group_snapshot_id"] == gs1["id"]
    g3 = ctl(cohortd, "group-create-from-src", "--name", "g3", "--source-group", "g1")
    assert g3["source_group_id"] == g1["id"] and len(g3["volume_ids"]) == 2

    # the seeds' CG verbs
    ctl(cohortd, "consisgroup-create", "--volume-type", "fast", "cg1")
    ctl(
        cohortd, "create", "--name", "cv1", "--volume-type", "fast", "--consisgroup-id", "cg1", "1G"
    )
    cs1 = ctl(cohortd, "cgsnapshot-create", "--name", "cs1", "cg1")
    cg2 = ctl(
        cohortd,
        "consisgroup-create-from-src",
        "--name",
        "cg2",
        "--description",
        "from snap",
        "--cgsnapshot",
        "cs1",
    )
    assert cg2["cgsnapshot_id"] == cs1["id"]
    cg3 = ctl(
        cohortd,
        "consisgroup-create-from-src",
        "--name",
        "cg3",
        "--description",
        "clone",
        "--consistencygroup",
        "cg1",
    )
    assert len(cg3["volume_ids"]) == 1
    cgs = ctl(cohortd, "consisgroup-list")["consistencygroups"]
    assert {c["name"] for c in cgs} == {"cg1", "cg2", "cg3"}
    assert {g["name"] for g in ctl(cohortd, "group-list")["groups"]} == {"g1", "g2", "g3"}
    caps = ctl(cohortd, "get-capabilities")
    assert caps["consistent_group_snapshot_enabled"] is True
    assert int(caps["pools"][0]["total_volumes"]) == 2 + 2 + 2 + 1 + 1 + 1  # int64: a string

    # deletes, in the order the preconditions require
    ctl(cohortd, "cgsnapshot-delete", "cs1")
    for cg in ("cg1", "cg2", "cg3"):
        ctl(cohortd, "consisgroup-delete", "--force", cg)
    ctl(cohortd, "group-snapshot-delete", gs1["id"])
    for group in ("g1", "g2", "g3"):
        ctl(cohortd, "group-delete", "--delete-volumes", group)
    ctl(cohortd, "group-type-delete", "cgt")
    ctl(cohortd, "type-delete", "fast")
    assert ctl(cohortd, "list").get("volumes", []) == []
    assert ctl(cohortd, "get-capabilities")["pools"][0].get("total_volumes", 0) == 0
