"""The local initiator (open-iscsi's iscsiadm) as the guest's LIO tests drive it.

Each initiator name is an iscsiadm interface (`iface`) of its own, so one guest plays several
hosts. Node records are made with a short replacement timeout: a session whose target went
away fails at once instead of retrying for two minutes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohort.domain.exports import Credentials

ISCSIADM = "iscsiadm"
#: What a test of LIO with the local initiator needs: root, open-iscsi and configfs (the guest).
NEEDS_LIO = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which(ISCSIADM) is None or not Path("/sys/kernel/config").is_dir(),
    reason="needs root, LIO and open-iscsi (the guest)",
)


def run(*argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


def iface(name: str, initiator: str) -> str:
    """An iscsiadm interface `name` logging in as `initiator` (made or updated)."""
    run(ISCSIADM, "-m", "iface", "-I", name, "-o", "new", check=False)
    run(ISCSIADM, "-m", "iface", "-I", name, "-o", "update", "-n", "iface.initiatorname",
        "-v", initiator)  # fmt: skip
    return name


def discover(portal: str, iface_name: str) -> list[str]:
    """The target IQNs a SendTargets discovery through `portal` lists to this interface (the
    node records it makes are deleted: tests make their own)."""
    done = run(ISCSIADM, "-m", "discovery", "-t", "sendtargets", "-p", portal, "-I", iface_name,
               "-o", "nonpersistent", check=False)  # fmt: skip
    if done.returncode not in (0, 21):  # 21: no records found
        raise AssertionError(f"discovery through {portal} failed: {done.stderr}")
    return [line.split()[1] for line in done.stdout.splitlines() if len(line.split()) == 2]


def _node(iqn: str, portal: str, iface_name: str, *rest: str, check: bool = True) -> str:
    argv = [ISCSIADM, "-m", "node", "-T", iqn, "-p", portal, "-I", iface_name, *rest]
    return run(*argv, check=check).stdout


def login(iqn: str, portal: str, iface_name: str, credentials: Credentials) -> bool:
    """Make the node record (CHAP with these credentials) and log in; whether it worked."""
    _node(iqn, portal, iface_name, "-o", "new")
    for key, value in (
        ("node.session.auth.authmethod", "CHAP"),
        ("node.session.auth.username", credentials.username),
        ("node.session.auth.password", credentials.password),
        ("node.session.timeo.replacement_timeout", "5"),
        ("node.conn[0].timeo.login_timeout", "10"),
        ("node.session.initial_login_retry_max", "1"),
    ):
        _node(iqn, portal, iface_name, "-o", "update", "-n", key, "-v", value)
    done = run(ISCSIADM, "-m", "node", "-T", iqn, "-p", portal, "-I", iface_name, "--login",
               check=False)  # fmt: skip
    return done.returncode == 0


def login_eventually(
    iqn: str, portal: str, iface_name: str, credentials: Credentials, tries: int = 3
) -> bool:
    """`login` for a test that expects it to work: a login of a target made a moment ago can
    fail once under emulation (one attempt, ten seconds), so it is tried again, then given up."""
    for attempt in range(tries):
        if login(iqn, portal, iface_name, credentials):
            return True
        if attempt + 1 < tries:
            time.sleep(1)
    return False


def logout_all(iqn: str) -> None:
    """Log out of every session to `iqn` and delete its node records (nothing if none)."""
    run(ISCSIADM, "-m", "node", "-T", iqn, "--logout", check=False)
    run(ISCSIADM, "-m", "node", "-T", iqn, "-o", "delete", check=False)


def device(iqn: str, portal: str, timeout: float = 60) -> Path:
    """The disk of LUN 0 of a logged-in session (udev's by-path link), once it is there."""
    link = Path(f"/dev/disk/by-path/ip-{portal}-iscsi-{iqn}-lun-0")
    deadline = time.monotonic() + timeout
    while not link.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{link} did not appear")
        run("udevadm", "settle", "--timeout=5", check=False)
        time.sleep(0.5)
    return link.resolve()


def sessions(iqn: str) -> int:
    done = run(ISCSIADM, "-m", "session", check=False)
    return sum(1 for line in done.stdout.splitlines() if line.split()[-2:-1] == [iqn])


@contextlib.contextmanager
def loopback_address(address: str) -> Iterator[str]:
    """`address`/8 on lo for the block (a second portal pyroute2 finds), removed after."""
    run("ip", "addr", "add", f"{address}/8", "dev", "lo")
    try:
        yield address
    finally:
        run("ip", "addr", "del", f"{address}/8", "dev", "lo", check=False)


def read(path: Path | str, length: int, offset: int = 0) -> bytes:
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        return f.read(length)
