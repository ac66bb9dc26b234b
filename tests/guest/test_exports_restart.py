"""Exports survive cohortd: restarts and kill -9 under an initiator's writes, a target deleted
behind cohortd's back, targets it does not know, and no plain-text secret left anywhere.

cohortd restores LIO from its store at every start (cohort.manager.restore); a target that is
already right is left exactly as it is, so a logged-in initiator notices nothing: the same
session on both ends (iscsiadm's session id, LIO's session id), no acknowledged write lost.

Run: `vagrant/testbed test -k exports_restart`.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rtslib_fb
from rtslib_fb import tcm

from cohort.iscsi.lio import backstore_name
from cohort.tools.ordered_check import check
from cohort.tools.ordered_writer import WriteSummary, write_ordered
from cohort.v1 import exports_pb2 as e_pb

from . import exports_kit as ek
from . import iscsi_kit as kit
from .helpers import UNIT, create_volume, delete_volume, kill_and_wait_restarted, sh, wait_serving

pytestmark = kit.NEEDS_LIO

MiB = 1024**2
HOST = "iqn.2026-01.test.initiator:durable-a"
SLOTS = 256  # 1 MiB of 4 KiB blocks


@dataclass(frozen=True)
class Exported:
    volume_id: str
    device_path: str
    connection: e_pb.Connection

    @property
    def iqn(self) -> str:
        return self.connection.data.target_iqn


@pytest.fixture(scope="module")
def iface() -> str:
    return kit.iface("durable-a", HOST)


@pytest.fixture
def export(cohortd: None) -> Iterator[Callable[[], Exported]]:
    """Exports a new 16 MiB volume to HOST; logged out, unexported and deleted after."""
    made: list[Exported] = []

    def make() -> Exported:
        volume = create_volume(f"durable-{uuid.uuid4().hex[:8]}", 16 * MiB, "durable")
        made.append(Exported(volume.id, volume.device_path, ek.export_volume(volume.id, HOST)))
        return made[-1]

    yield make
    for exported in made:
        kit.logout_all(exported.iqn)
        ek.unexport(exported.volume_id)
        delete_volume(exported.volume_id)


def fabric() -> Any:
    tcm.bs_cache.clear()  # rtslib's backstore index: another process changes configfs
    return rtslib_fb.FabricModule("iscsi")


def lio_session(iqn: str, initiator: str = HOST) -> int:
    """LIO's session id of `initiator` on `iqn` (a new login, or a reinstated session, has a
    new one)."""
    tpg = rtslib_fb.TPG(rtslib_fb.Target(fabric(), iqn, mode="lookup"), 1, mode="lookup")
    session = rtslib_fb.NodeACL(tpg, initiator, mode="lookup").session
    assert session is not None, f"no session of {initiator} on {iqn}"
    return int(session["id"])


def target_dump(iqn: str) -> Any:
    return rtslib_fb.Target(fabric(), iqn, mode="lookup").dump()


def unit_serial(iqn: str) -> str:
    name = backstore_name(ek.iqn_prefix(), iqn)
    (path,) = Path("/sys/kernel/config/target/core").glob(f"iblock_*/{name}/wwn/vpd_unit_serial")
    return path.read_text()


def tpg_enabled(iqn: str) -> list[bool]:
    return [bool(tpg.enable) for tpg in rtslib_fb.Target(fabric(), iqn, mode="lookup").tpgs]


def logged_in(exported: Exported, iface: str) -> Path:
    assert kit.login(exported.iqn, ek.PORTAL, iface, ek.credentials(exported.connection))
    return kit.device(exported.iqn, ek.PORTAL)


def restart() -> str:
    sh("systemctl", "restart", UNIT, timeout=300)
    return wait_serving()


def kill() -> str:
    return kill_and_wait_restarted("main")


class Writer:
    """The ordered writer on one device in a thread: every write O_DIRECT|O_SYNC, complete
    before the next; `done` is the last acknowledged one."""

    def __init__(self, device: Path, progress: Path) -> None:
        self.progress = progress
        self.stop = threading.Event()
        self.summary: WriteSummary | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(str(device),), daemon=True)
        self._thread.start()

    def _run(self, device: str) -> None:
        try:
            self.summary = write_ordered(
                [device], slots=SLOTS, stop=self.stop, progress=str(self.progress)
            )
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def done(self) -> int:
        try:
            return int(json.loads(self.progress.read_text())["done"])
        except (OSError, ValueError):
            return 0

    def wait_for(self, writes: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.done() < writes and self._thread.is_alive():
            assert time.monotonic() < deadline, f"the writer is stuck at {self.done()} writes"
            time.sleep(0.1)
        assert self._thread.is_alive(), f"the writer stopped: {self.error!r}"

    def finish(self) -> WriteSummary:
        self.stop.set()
        self._thread.join(timeout=120)
        assert self.error is None, f"a write failed: {self.error!r}"
        assert self.summary is not None
        return self.summary


@pytest.mark.parametrize("bounce", [restart, kill], ids=["restart", "kill-9"])
def test_a_session_and_every_acknowledged_write_survive_cohortd(
    bounce: Callable[[], str],
    export: Callable[[], Exported],
    iface: str,
    tmp_path: Path,
) -> None:
    exported = export()
    disk = logged_in(exported, iface)
    sessions, lio_id = ek.initiator_sessions(exported.iqn), lio_session(exported.iqn)
    dump = target_dump(exported.iqn)
    writer = Writer(disk, tmp_path / "progress.json")
    writer.wait_for(20)
    assert bounce() == "SERVING"
    writer.wait_for(writer.done() + 20)  # I/O goes on after cohortd's restore
    summary = writer.finish()

    assert ek.initiator_sessions(exported.iqn) == sessions
    assert lio_session(exported.iqn) == lio_id, "the session was dropped and made again"
    assert target_dump(exported.iqn) == dump, "the restore changed a target that was right"
    for image in (str(disk), exported.device_path):  # what the initiator and the gate read
        verdict = check([image], slots=SLOTS)
        assert verdict.consistent, verdict.as_json()
        assert verdict.last == summary.writes, f"{image}: acknowledged writes lost"


def test_a_target_deleted_while_cohortd_is_down_comes_back_the_same(
    export: Callable[[], Exported], iface: str
) -> None:
    deleted, other = export(), export()
    ek.fill(deleted.device_path, MiB)
    disk = logged_in(deleted, iface)
    names, serial = ek.by_id(disk), unit_serial(deleted.iqn)
    kit.logout_all(deleted.iqn)
    other_disk = logged_in(other, iface)
    sessions, lio_id = ek.initiator_sessions(other.iqn), lio_session(other.iqn)

    sh("systemctl", "stop", UNIT, timeout=300)
    try:
        rtslib_fb.Target(fabric(), deleted.iqn, mode="lookup").delete()
        rtslib_fb.BlockStorageObject(backstore_name(ek.iqn_prefix(), deleted.iqn)).delete()
        assert deleted.iqn not in [t.wwn for t in fabric().targets]
    finally:
        sh("systemctl", "start", UNIT, timeout=300)
    assert wait_serving() == "SERVING"

    assert unit_serial(deleted.iqn) == serial
    disk = logged_in(deleted, iface)  # the credentials returned by the export, before
    assert ek.by_id(disk) == names
    assert kit.read(disk, MiB) == kit.read(deleted.device_path, MiB)
    assert ek.initiator_sessions(other.iqn) == sessions
    assert lio_session(other.iqn) == lio_id
    block = os.urandom(4096)
    with open(other_disk, "r+b", buffering=0) as f:
        f.write(block)
        os.fsync(f.fileno())
    assert kit.read(other.device_path, len(block)) == block


def test_unknown_targets_with_cohorts_prefix_are_disabled_others_untouched(
    cohortd: None,
) -> None:
    stray = f"{ek.iqn_prefix()}stray-{uuid.uuid4().hex[:8]}"
    foreign = f"iqn.2026-01.test.other:kept-{uuid.uuid4().hex[:8]}"
    for iqn in (stray, foreign):
        tpg = rtslib_fb.TPG(rtslib_fb.Target(fabric(), iqn, mode="create"), 1, mode="create")
        tpg.enable = True
    try:
        since = time.time()
        assert restart() == "SERVING"
        assert tpg_enabled(stray) == [False], "not disabled (or deleted)"
        assert tpg_enabled(foreign) == [True]
        logged = sh("journalctl", "-u", UNIT, "-o", "cat", "--no-pager", f"--since=@{since:.0f}")
        assert stray in logged.stdout and foreign not in logged.stdout
    finally:
        for iqn in (stray, foreign):
            rtslib_fb.Target(fabric(), iqn, mode="lookup").delete()


def test_no_plain_text_copy_of_a_secret(export: Callable[[], Exported]) -> None:
    exported = export()
    password = exported.connection.data.auth_password
    assert len(password) >= 12
    assert restart() == "SERVING"  # a restore writes it to LIO again
    found = sh("grep", "-rlsF", "--", password, "/etc", "/var/lib/cohort", "/run/cohort",
               check=False)  # fmt: skip
    assert found.stdout == "", f"the secret in plain text: {found.stdout}"
    journal = sh("journalctl", "-b", "-o", "cat", "--no-pager").stdout
    assert password not in journal
