"""Start-up repair on the fake runner: suspended gates first, suspended LVs through LVM, the
pool's transaction id against LVM's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from cohort.lvm import repair
from cohort.lvm.backend import LvmBackend
from cohort.lvm.lvm import Lvm
from cohort.lvm.run import Result

from .fakes import FakeSystem
from .helpers import vol

FIXTURES = Path(__file__).parent / "fixtures"


def restart(fake: FakeSystem) -> LvmBackend:
    fake.calls.clear()
    backend = LvmBackend(fake, "vg0", "pool", manage_lvm_config=False)
    backend.start()
    return backend


def test_suspended_gates_resumed_before_anything_else(
    backend: LvmBackend, fake: FakeSystem
) -> None:
    a, b = vol(), vol()
    backend.create_volume(a)
    backend.create_volume(b)
    fake.suspended.add(f"cohort-gate-{a.id}")
    restart(fake)
    assert fake.suspended == set()
    info, resume = fake.calls[:2]
    assert info[:2] == ("dmsetup", "info")
    assert resume == ("dmsetup", "resume", "--", f"cohort-gate-{a.id}")
    assert ("dmsetup", "resume", "--", f"cohort-gate-{b.id}") not in fake.calls


def test_suspended_lv_resumed_through_lvm(backend: LvmBackend, fake: FakeSystem) -> None:
    v = vol()
    backend.create_volume(v)
    lv = fake.lvs[f"volume-{v.id}"]
    lv.attr = lv.attr[:4] + "s" + lv.attr[5:]
    fake.suspended.add(f"vg0-{lv.name}")
    with capture_logs() as logs:
        restart(fake)
    assert lv.attr[4] == "a" and fake.suspended == set()
    refresh = ("lvm", "lvchange", "--refresh", "--", f"vg0/{lv.name}")
    assert fake.calls.count(refresh) == 1
    assert not [c for c in fake.calls if c[:2] == ("dmsetup", "resume")]
    # resumed before the pool's transaction id is read and before cohort's LVs are activated
    transaction = next(i for i, c in enumerate(fake.calls) if "lv_name,transaction_id" in c)
    activate = fake.calls.index(("lvm", "lvchange", "--activate", "y", "--", "@cohort"))
    assert fake.calls.index(refresh) < transaction < activate
    assert any(e["event"] == "suspended LV resumed at start through LVM" for e in logs)


def test_nothing_suspended_nothing_resumed(backend: LvmBackend, fake: FakeSystem) -> None:
    backend.create_volume(vol())
    restart(fake)
    assert not [c for c in fake.calls if "--refresh" in c or c[1] == "resume"]


@pytest.mark.parametrize(
    ("kernel", "state", "level"),
    [
        (3, repair.Transaction.CONSISTENT, "info"),
        (2, repair.Transaction.PENDING, "warning"),
        (None, repair.Transaction.INACTIVE, "warning"),
    ],
)
def test_transaction_id_lvm_can_go_on_with(
    fake: FakeSystem, kernel: int | None, state: repair.Transaction, level: str
) -> None:
    fake.kernel_transaction = kernel
    with capture_logs() as logs:
        backend = restart(fake)
    tx = repair.pool_transaction(backend.lvm)
    assert (tx.kernel, tx.metadata, tx.state, tx.problem) == (kernel, 3, state, None)
    assert backend.pool_problem is None
    assert [e["log_level"] for e in logs if e.get("pool") == "vg0/pool"] == [level]
    assert backend.stats().backend_state == "up"


@pytest.mark.parametrize("kernel", [1, 4, 7])
def test_transaction_id_mismatch_reported_and_pool_down_until_repaired(
    fake: FakeSystem, kernel: int
) -> None:
    fake.kernel_transaction = kernel
    with capture_logs() as logs:
        backend = restart(fake)
    (error,) = [e for e in logs if e["log_level"] == "error"]
    assert (error["kernel"], error["metadata"], error["pool"]) == (kernel, 3, "vg0/pool")
    assert backend.pool_problem is not None
    assert f"kernel transaction id {kernel}, LVM metadata 3" in backend.pool_problem
    assert backend.stats().backend_state == "down"
    assert not [c for c in fake.calls if c[:2] == ("dmsetup", "message")]
    fake.kernel_transaction = 3  # repaired by hand: the next stats see it
    assert backend.stats().backend_state == "up" and backend.pool_problem is None


def test_transaction_ids_from_recorded_output() -> None:
    """lvm2 2.03.16 runs an unused pool as vg0-pool itself and, once it has thin LVs, as
    vg0-pool-tpool (the guest's own cohort pool is listed too)."""
    unused = (FIXTURES / "dmsetup_status_unused_pool.txt").read_text()
    used = (FIXTURES / "dmsetup_status_thin_pool.txt").read_text()
    assert repair.kernel_transaction(unused, "vg0-pool") == 0
    assert repair.kernel_transaction(used, "vg0-pool") == 3
    assert repair.kernel_transaction(used, "vg0-absent") is None
    assert repair.kernel_transaction("No devices found\n", "vg0-pool") is None
    assert repair.kernel_transaction("vg0-pool: 0 2048 thin-pool Fail\n", "vg0-pool") is None
    report = (FIXTURES / "lvs_transaction_id.json").read_text()
    runner = Replay(report)
    assert Lvm(runner, "vg0", "pool").transaction_id() == 3
    (argv,) = runner.calls
    assert argv[-2:] == ("--", "vg0/pool") and "lv_name,transaction_id" in argv


class Replay(FakeSystem):
    """A runner answering every command with one recorded output."""

    def __init__(self, stdout: str) -> None:
        super().__init__()
        self.stdout = stdout

    def run(self, argv: Sequence[str], **options: Any) -> Result:
        self.calls.append(tuple(argv))
        return Result(tuple(argv), 0, self.stdout, "", 0.0)
