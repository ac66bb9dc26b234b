"""A guest reboot brings back the pool, the loop device (embedded default), the gates and every
object, with their data; a power loss keeps every journal step recorded before it. Host-side: it
drives `vagrant/testbed` (up, exec, reboot, down), so it runs only where a test-bed guest may be
booted: `.ci/guest` sets COHORT_TESTBED_HOST=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
TESTBED = str(CHECKOUT / "vagrant" / "testbed")
CTL = "/opt/cohort/bin/cohortctl"

pytestmark = pytest.mark.skipif(
    os.environ.get("COHORT_TESTBED_HOST") != "1",
    reason="boots a test-bed guest: run by .ci/guest (COHORT_TESTBED_HOST=1)",
)


def run_testbed(*args: str, timeout: float = 900) -> str:
    result = subprocess.run(
        [TESTBED, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"testbed {args}: {result.stderr[-2000:]}"
    return result.stdout


def guest(*argv: str) -> str:
    return run_testbed("exec", "--", *argv, timeout=300)


def ctl(*args: str) -> Any:
    out = guest(CTL, "--json", *args)
    return json.loads(out) if out.strip() else {}


@pytest.fixture(scope="module")
def booted() -> Iterator[None]:
    run_testbed("up", timeout=1800)
    try:
        yield
    finally:
        run_testbed("down")


def inventory() -> dict[str, Any]:
    """Every object cohortd lists, with its status, plus the gates and the loop devices."""
    return {
        "volumes": sorted((v["id"], v["status"]) for v in ctl("list").get("volumes", [])),
        "groups": sorted((g["id"], g["status"]) for g in ctl("group-list").get("groups", [])),
        "snapshots": sorted(
            (s["id"], s["status"]) for s in ctl("snapshot-list").get("snapshots", [])
        ),
        "gates": sorted(
            line.split()[0]
            for line in guest("dmsetup", "ls").splitlines()
            if line.startswith("cohort-gate-")
        ),
    }


def checksum(path: str) -> str:
    return guest("sh", "-c", f"dd if={path} bs=1M count=8 iflag=direct status=none | sha256sum")


def populate(tag: str) -> dict[str, str]:
    """A group of two volumes with data, and a group snapshot; {device path: checksum}."""
    ctl("type-create", f"t-{tag}")
    ctl("group-type-create", f"gt-{tag}")
    ctl("group-create", "--group-type", f"gt-{tag}", "--volume-types", f"t-{tag}", f"g-{tag}")
    sums = {}
    for i in range(2):
        vol = ctl(
            "create",
            "--name",
            f"v{i}-{tag}",
            "--volume-type",
            f"t-{tag}",
            "--group-id",
            f"g-{tag}",
            "64M",
        )
        path = vol["device_path"]
        guest(
            "sh",
            "-c",
            f"head -c 8388608 /dev/urandom | dd of={path} bs=1M oflag=direct "
            "conv=fsync status=none",
        )
        sums[path] = checksum(path)
    ctl("group-snapshot-create", "--name", f"gs-{tag}", f"g-{tag}")
    return sums


def reboot_from_inside(how: str = "systemctl reboot") -> None:
    """`systemctl reboot` in the guest, as an operator types it (or `how`); then wait as they
    would: until the guest answers with a new boot id and cohortd's unit is active (READY=1:
    serving)."""
    boot_id = guest("cat", "/proc/sys/kernel/random/boot_id").strip()
    subprocess.run([TESTBED, "exec", "--", "sh", "-c", how], timeout=60, check=False)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        probe = subprocess.run(
            [TESTBED, "exec", "--", "sh", "-c", "cat /proc/sys/kernel/random/boot_id; "
             "systemctl is-active cohortd"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        answer = probe.stdout.split()
        if len(answer) == 2 and answer[0] != boot_id and answer[1] == "active":
            return
        time.sleep(5)
    pytest.fail(f"the guest or cohortd did not come back after `{how}`")


def reboot_and_compare(sums: dict[str, str], *, inside: bool = False) -> None:
    before = inventory()
    if inside:
        reboot_from_inside()
    else:
        run_testbed("reboot", timeout=900)
    assert inventory() == before
    for path, digest in sums.items():
        assert checksum(path) == digest


def test_reboot_with_the_configured_volume_group(booted: None) -> None:
    sums = populate("vg")
    reboot_and_compare(sums)
    assert "pool" in guest("lvs", "--noheadings", "-o", "lv_name", "cohort")


def exports_kit(*args: str) -> Any:
    """tests/guest/exports_kit.py's CLI in the guest: its JSON answer."""
    return json.loads(guest("sh", "-c", "cd /src && exec /opt/cohort/bin/python -m "
                            "tests.guest.exports_kit \"$@\"", "kit", *args))  # fmt: skip


def test_reboot_restores_exports_after_the_gates(booted: None) -> None:
    """An exported volume, logged in to by the guest's own initiator: after a reboot the gate,
    then the target, are back before cohortd serves; a login with the credentials the export
    returned finds the same /dev/disk/by-id names and the same bytes."""
    initiator = "iqn.2026-01.test.initiator:reboot"
    made = exports_kit("export", "reboot-export", initiator)
    data = made["connection"]["data"]
    login = ("login", data["target_iqn"], initiator, data["auth_username"], data["auth_password"])
    before = exports_kit(*login)
    assert before["logged_in"] and before["by_id"], before
    assert before["digest"] == made["digest"]
    run_testbed("reboot", timeout=900)
    lines = guest("journalctl", "-b", "-u", "cohortd", "-o", "cat", "--no-pager").splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]

    def first(event: str, **fields: Any) -> int:
        return next(
            i
            for i, e in enumerate(events)
            if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
        )

    gate = first("gate recreated", volume_id=made["volume_id"])
    assert gate < first("exports restored", failed=0) < first("serving")
    after = exports_kit(*login)
    assert after == before
    exports_kit("cleanup", made["volume_id"], data["target_iqn"])


#: What the journal holds, read by another process straight from cohortd's store.
JOURNAL_QUERY = (
    "import json, sqlite3; db = sqlite3.connect('file:/var/lib/cohort/cohort.db?mode=ro', "
    "uri=True); print(json.dumps([(k, s, json.loads(t)) for k, s, t in "
    "db.execute('select kind, subject_id, steps from operations')]))"
)


def journal() -> list[Any]:
    return list(json.loads(guest("/opt/cohort/bin/python", "-c", JOURNAL_QUERY)))


def test_power_loss_right_after_a_step_is_recorded(booted: None) -> None:
    """A step recorded as about to run is on disk before the backend runs it: the guest loses
    power (sysrq b: an immediate reset, nothing synced, the guest's page cache lost) while the
    LVM command of a group snapshot's first batch waits for the VG's write lock; after the boot
    cohortd finds the step in its journal and rolls the group snapshot back. Another process
    holds the VG's lock *shared*: LVM's reads (lvs) go on, its writes (lvcreate) wait."""
    populate("pw")
    guest("systemd-run", "--unit=hold-vg-lock", "flock", "--shared", "--close",
          "/run/lock/lvm/V_cohort", "sleep", "900")  # fmt: skip
    try:
        guest("systemd-run", "--unit=snapshot-pw", CTL, "group-snapshot-create", "--name",
              "gs2-pw", "g-pw")  # fmt: skip
        deadline = time.monotonic() + 300
        while True:
            planned = [
                subject
                for kind, subject, steps in journal()
                if kind == "create_group_snapshot" and any(s["state"] == "planned" for s in steps)
            ]
            if planned:
                break
            assert time.monotonic() < deadline, "the group snapshot never recorded its steps"
            time.sleep(1)
        (subject,) = planned
        reboot_from_inside("echo b > /proc/sysrq-trigger")
    finally:  # the lock dies with the reset; if the test failed before it, release it here
        guest("sh", "-c", "systemctl stop hold-vg-lock 2>/dev/null || true")
    resolved = guest("journalctl", "-b", "-u", "cohortd", "-o", "cat", "--no-pager")
    assert "resolving an interrupted operation" in resolved
    assert subject in resolved
    assert journal() == []
    assert ctl("group-snapshot-show", subject)["status"] == "SNAPSHOT_STATUS_ERROR"
    members = [
        s["id"]
        for s in ctl("snapshot-list").get("snapshots", [])
        if s.get("group_snapshot_id") == subject
    ]
    assert members, "the group snapshot's member snapshots are listed (in error)"
    tags = guest("lvs", "--noheadings", "-o", "lv_tags", "cohort")
    assert not [m for m in members if m in tags], "no LV is left of a rolled-back snapshot"


def test_reboot_with_the_embedded_default(booted: None) -> None:
    """No volume group configured: a sparse file in the state directory, attached as a loop
    device, is the PV of cohort's own VG; it is re-attached at every start."""
    for gs in ctl("group-snapshot-list").get("group_snapshots", []):
        ctl("group-snapshot-delete", gs["id"])
    for group in ctl("group-list").get("groups", []):
        ctl("group-delete", "--delete-volumes", group["id"])
    # the embedded VG is also named "cohort": retire the configured one on /dev/vdb first
    guest(
        "sh",
        "-c",
        "systemctl stop cohortd && vgremove -f -y cohort && pvremove -y /dev/vdb && "
        "rm -f /var/lib/cohort/cohort.db* && "
        'sed -i \'s/^volume_group = .*/volume_group = ""/; '
        's/^thin_pool = .*/thin_pool = ""/\' /etc/cohort/cohortd.toml && '
        "systemctl start cohortd",
    )
    loops = guest("losetup", "--list", "--noheadings", "-O", "BACK-FILE")
    assert "/var/lib/cohort/" in loops
    sums = populate("emb")
    reboot_and_compare(sums, inside=True)
    assert "/var/lib/cohort/" in guest("losetup", "--list", "--noheadings", "-O", "BACK-FILE")
