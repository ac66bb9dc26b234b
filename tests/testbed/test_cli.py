"""vagrant/testbed's own logic, on the host and without a guest: the image key, argument
handling, the lock, the health check's hand-made messages."""

from __future__ import annotations

import fcntl
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

VAGRANT = Path(__file__).resolve().parents[2] / "vagrant"


def load(name: str, path: Path) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def testbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("COHORT_TESTBED_HOME", str(tmp_path / "home"))
    return load("testbed_under_test", VAGRANT / "testbed")


def test_package_list_comes_from_provision_sh(testbed: ModuleType) -> None:
    packages = testbed.packages()
    for needed in (
        "linux-image-amd64",
        "lvm2",
        "thin-provisioning-tools",
        "targetcli-fb",
        "python3-rtslib-fb",
        "open-iscsi",
        "dbus",
        "qemu-guest-agent",
        "systemd-sysv",
    ):
        assert needed in packages  # fmt: skip


def test_image_key_follows_the_provisioning_script(
    testbed: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = testbed.image_key()
    assert key == testbed.image_key()
    changed = tmp_path / "provision.sh"
    changed.write_text((VAGRANT / "provision.sh").read_text() + "\n# changed\n")
    monkeypatch.setattr(testbed, "PROVISION", changed)
    assert testbed.image_key() != key


def test_the_lock_times_out_with_the_holder_named(testbed: ModuleType, tmp_path: Path) -> None:
    lock = tmp_path / "guest.lock"
    fd = testbed.flock(lock, 1, "the guest lock")
    assert "checkout" in lock.read_text()
    with pytest.raises(testbed.TestbedError, match="still busy"):
        # a second open file description conflicts like another process would
        testbed.flock(lock, 1, "the guest lock")
    os.close(fd)
    fd = testbed.flock(lock, 1, "the guest lock")
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_exec_without_a_guest_fails_cleanly(tmp_path: Path) -> None:
    env = dict(
        os.environ, COHORT_TESTBED_HOME=str(tmp_path), COHORT_TESTBED_RUN=str(tmp_path / "r")
    )
    done = subprocess.run(
        [sys.executable, str(VAGRANT / "testbed"), "exec", "--", "true"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no guest running" in done.stderr
    assert done.stdout == ""


def test_health_status_decoding() -> None:
    pytest.importorskip("grpc")
    health = load("health_under_test", VAGRANT / "health.py")
    assert health.decode_status(b"\x08\x01") == 1  # SERVING
    assert health.decode_status(b"\x08\x02") == 2  # NOT_SERVING
    assert health.decode_status(b"") == 0  # proto3 default: UNKNOWN


def test_up_prints_export_lines_that_reach_a_child_process(
    testbed: ModuleType, tmp_path: Path
) -> None:
    run = testbed.Run(tmp_path / "run dir")
    run.dir.mkdir()
    testbed.write_env(run, {"grpc_port": 40123}, True)
    show = "import os; print(os.environ['COHORT_ENDPOINT'], os.environ['COHORT_TLS_KEY'])"
    script = f'eval "$(cat "$1")"; python3 -c "{show}"'
    out = subprocess.run(
        ["bash", "-c", script, "bash", str(run.env_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    endpoint, key = out.stdout.split(" ", 1)
    assert endpoint == "127.0.0.1:40123"
    assert key.strip() == str(run.tls / "client.key")
