"""Smoke test of a storage guest: cohortd runs under its systemd unit and answers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .helpers import (
    UNIT,
    create_volume,
    delete_volume,
    kill_and_wait_restarted,
    sh,
    unit_property,
    wait_serving,
)


def test_unit_is_the_checkouts(cohortd: None) -> None:
    installed = Path(f"/etc/systemd/system/{UNIT}").read_text()
    assert installed == Path("/src/systemd/cohortd.service").read_text()


def test_active_under_systemd_as_notify_service(cohortd: None) -> None:
    assert unit_property("ActiveState") == "active"
    assert unit_property("SubState") == "running"
    assert unit_property("Type") == "notify"
    assert unit_property("NotifyAccess") == "main"
    assert unit_property("WatchdogUSec") == "30s"
    main_pid = int(unit_property("MainPID"))
    assert Path(f"/proc/{main_pid}/cmdline").read_bytes().split(b"\0")[1].endswith(b"cohortd")


def test_health_serving_over_unix_socket(cohortd: None) -> None:
    assert wait_serving(timeout=10) == "SERVING"


def test_restart_keeps_serving(cohortd: None) -> None:
    before = int(unit_property("MainPID"))
    sh("systemctl", "restart", UNIT)
    assert unit_property("ActiveState") == "active"
    assert int(unit_property("MainPID")) != before
    assert wait_serving() == "SERVING"


def test_comes_back_after_every_kill(cohortd: None) -> None:
    """systemd restarts cohortd however often it is killed: no start limit leaves a storage
    node without its daemon (the 6th kill is one past systemd's default burst of 5)."""
    for _ in range(6):
        assert kill_and_wait_restarted() == "SERVING"
        assert unit_property("ActiveState") == "active"


def test_lvm_scans_only_the_pool_pvs() -> None:
    assert sh("lvmconfig", "devices/ignore_suspended_devices").stdout.strip().endswith("=1")
    assert '"r|.*|"' in sh("lvmconfig", "devices/global_filter").stdout


def test_volume_create_write_delete_over_grpc(cohortd: None) -> None:
    """One volume through the daemon (LVM and device-mapper from inside the unit's sandbox):
    created, written and read back through its device, deleted without a trace."""
    volume = create_volume(f"smoke-{uuid.uuid4().hex[:8]}", 64 << 20)
    try:
        device = Path(volume.device_path)
        assert device.is_block_device()
        payload = os.urandom(4096)
        with open(device, "r+b", buffering=0) as f:
            f.write(payload)
            os.fsync(f.fileno())
            f.seek(0)
            assert f.read(4096) == payload
    finally:
        delete_volume(volume.id)
    assert not Path(volume.device_path).exists()
    assert volume.id not in sh("lvs", "--noheadings", "-o", "lv_name,lv_tags").stdout
