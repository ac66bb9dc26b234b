"""The freeze's fault matrix, in the guest: a consistent group of 8 volumes under the ordered
writer; a group snapshot or a clone of the group held by the test hook at one step of the
protocol (armed, frozen, snapshotting, thawed, committed); once cohortd reports the step reached,
a fault: SIGKILL or SIGSTOP of cohortd's main process or of its whole unit (`systemctl kill
--kill-whom=main|all`), or (at frozen) another process taking the VG's LVM lock so the next
`lvcreate -s` waits inside the window. Then:
- the writer's I/O resumes within the deadline (plus a margin for emulation) of the fault;
- after the restart (SIGCONT for a stop, the lock released) no device-mapper device of the pool
  is suspended, every LV belongs to an object, the group is available, and each group snapshot
  or clone made is either available with a write-order-consistent image or in error with no LV.

CI runs the cases in CI_CASES (about 5 minutes); the full matrix (40 cases plus 2 lock cases,
about 45 minutes under emulation):

    vagrant/testbed test tests/guest/test_freeze_faults.py --freeze-matrix
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest

from cohort.v1 import common_pb2 as c
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb

from .freeze_kit import (
    Writer,
    clear_hooks,
    clone_verdict,
    delete_group,
    freeze_record,
    hold_at,
    make_group,
    member_paths,
    resume_everything_of_cohort,
    snapshot_verdict,
    suspended_devices,
    took_freeze,
    unique,
    wait_reached,
)
from .helpers import SOCKET, UNIT, sh, unit_property, wait_serving
from .test_lvm_lock import VG_LOCK, lock_is_held
from .test_scenario import Client, cohort_lvs

STEPS = ("armed", "frozen", "snapshotting", "thawed", "committed")
SIGNALS = ("kill-main", "kill-all", "stop-main", "stop-all")
#: [freeze] deadline_seconds (its default).
DEADLINE = 10.0
#: The writer must complete a write within this of the fault (the deadline, plus what the
#: guard's timer, its ioctls and a 2-CPU emulated guest under load may add).
RESUME_BOUND = DEADLINE + 20.0
#: The hook holds the step longer than the deadline: a stopped cohortd is overtaken by the guard.
HOLD = DEADLINE + 5.0
#: Lock case: a short hold at frozen to take the VG's lock inside the window.
LOCK_HOLD = 2.0


@dataclass(frozen=True)
class Case:
    step: str
    fault: str  # one of SIGNALS, or "lvm-lock"
    operation: str  # "snapshot" (CreateGroupSnapshot) or "clone" (CreateGroupFromSource)

    def __str__(self) -> str:
        return f"{self.operation}-{self.step}-{self.fault}"


CI_CASES = {
    Case("frozen", "kill-all", "snapshot"),
    Case("frozen", "stop-main", "snapshot"),
    Case("snapshotting", "kill-main", "clone"),
    Case("thawed", "stop-all", "snapshot"),
    Case("frozen", "lvm-lock", "snapshot"),
}
ALL_CASES = [
    Case(step, fault, operation)
    for operation in ("snapshot", "clone")
    for step in STEPS
    for fault in SIGNALS
] + [Case("frozen", "lvm-lock", operation) for operation in ("snapshot", "clone")]


def params() -> list[object]:
    return [
        pytest.param(
            case, id=str(case), marks=[] if case in CI_CASES else [pytest.mark.full_matrix]
        )
        for case in ALL_CASES
    ]


@dataclass
class ConsistentGroup:
    api: Client
    group: g_pb.Group
    order: list[str]
    paths: list[str]


@pytest.fixture(scope="module")
def consistent_group(freeze_hooks: None) -> Iterator[ConsistentGroup]:
    """One consistent group for the whole matrix (each case removes what it made), with the
    test hooks switched on."""
    with grpc.insecure_channel(f"unix://{SOCKET}") as channel:
        api = Client(channel)
        group = make_group(api, unique("fault"), consistent=True)
        order, paths = member_paths(api, group)
        yield ConsistentGroup(api, group, order, paths)
        delete_group(api, group.id)


def start(operation: str, cg: ConsistentGroup, name: str) -> threading.Thread:
    """The call in a thread of its own; it may die with cohortd (its error is dropped)."""

    def call() -> None:
        with contextlib.suppress(grpc.RpcError):
            if operation == "snapshot":
                cg.api.group_snapshots.CreateGroupSnapshot(
                    gs_pb.CreateGroupSnapshotRequest(group_id=cg.group.id, name=name), timeout=600
                )
            else:
                cg.api.groups.CreateGroupFromSource(
                    g_pb.CreateGroupFromSourceRequest(name=name, source_group_id=cg.group.id),
                    timeout=600,
                )

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def signal_unit(fault: str, sig: str | None = None) -> None:
    action, whom = fault.split("-")
    sig = sig or ("KILL" if action == "kill" else "STOP")
    sh("systemctl", "kill", f"--kill-whom={whom}", f"--signal={sig}", UNIT)


def once(undo: Callable[[], None]) -> Callable[[], None]:
    done: list[bool] = []

    def call() -> None:
        if not done:
            done.append(True)
            undo()

    return call


def inject(fault: str) -> Callable[[], None]:
    """Apply the fault now; the returned call (idempotent) undoes what can be undone: SIGCONT,
    the lock released, or the wait for systemd's restart of a killed cohortd."""
    if fault == "lvm-lock":
        holder = subprocess.Popen(["flock", "--close", VG_LOCK, "sleep", "600"])
        deadline = time.monotonic() + 30
        while not lock_is_held():
            assert time.monotonic() < deadline, "the lock holder never took the VG lock"
            time.sleep(0.05)

        def release() -> None:
            holder.terminate()
            holder.wait(30)

        return once(release)
    if fault.startswith("stop"):
        signal_unit(fault)
        return once(lambda: signal_unit(fault, "CONT"))
    before = unit_property("MainPID")
    signal_unit(fault)

    def restarted() -> None:
        deadline = time.monotonic() + 180
        while unit_property("MainPID") in (before, "0") and time.monotonic() < deadline:
            time.sleep(0.2)

    return once(restarted)


@pytest.mark.parametrize("case", params())
def test_fault_during_freeze(consistent_group: ConsistentGroup, case: Case) -> None:
    cg = consistent_group
    name = unique(f"f-{case.operation}")
    undo: Callable[[], None] = lambda: None  # noqa: E731
    try:
        with Writer(cg.paths) as writer:
            hold_at(case.step, LOCK_HOLD if case.fault == "lvm-lock" else HOLD)
            call = start(case.operation, cg, name)
            wait_reached(case.step)
            clear_hooks()  # nothing after this freeze is held
            done = writer.progress()["done"]
            undo = inject(case.fault)
            resumed_in = writer.wait_progress(done, timeout=RESUME_BOUND)
            undo()
            if resumed_in is None:  # stated, then failed below once the state is checked
                late = writer.wait_progress(done, timeout=120)
                print(f"{case}: the writer resumed only after the undo ({late} s later)")
            call.join(600)
            assert not call.is_alive(), "the call never ended"
            assert wait_serving() == "SERVING"
            assert writer.wait_progress(writer.progress()["done"], timeout=60) is not None
            summary = writer.stop()
        print(f"{case}: writer resumed {resumed_in} s after the fault; {summary['latency']}")
        assert_resolved(cg, name, case)
        assert resumed_in is not None, f"{case}: the writer's I/O did not resume in time"
    finally:
        clear_hooks()
        undo()
        if suspended_devices("cohort-"):
            resume_everything_of_cohort()
        remove_made(cg, name)


def assert_resolved(cg: ConsistentGroup, name: str, case: Case) -> None:
    api = cg.api
    assert not suspended_devices("cohort-"), "a gate or LV is left suspended"
    lvs = cohort_lvs()
    assert set(lvs) <= set(api.everything()), "an LV with no object after the restart"
    group = api.groups.GetGroup(g_pb.GetGroupRequest(group_id=cg.group.id))
    assert group.status == c.GROUP_STATUS_AVAILABLE
    if case.operation == "snapshot":
        for gs in made_snapshots(cg, name):
            if gs.status == c.SNAPSHOT_STATUS_AVAILABLE:
                verdict = snapshot_verdict(api, gs, cg.order)
                assert verdict.consistent, f"{case}: a torn group snapshot is available: {verdict}"
                assert took_freeze(freeze_record(gs))
            else:
                assert gs.status == c.SNAPSHOT_STATUS_ERROR, gs
                assert not set(gs.snapshot_ids) & set(lvs)
    else:
        for clone in made_clones(cg, name):
            if clone.status == c.GROUP_STATUS_AVAILABLE:
                verdict = clone_verdict(api, clone, cg.order)
                assert verdict.consistent, f"{case}: a torn clone is available: {verdict}"
            else:
                assert clone.status == c.GROUP_STATUS_ERROR, clone
                assert not set(clone.volume_ids) & set(lvs)


def made_snapshots(cg: ConsistentGroup, name: str) -> list[gs_pb.GroupSnapshot]:
    listed = cg.api.group_snapshots.ListGroupSnapshots(gs_pb.ListGroupSnapshotsRequest())
    return [gs for gs in listed.group_snapshots if gs.name == name]


def made_clones(cg: ConsistentGroup, name: str) -> list[g_pb.Group]:
    listed = cg.api.groups.ListGroups(g_pb.ListGroupsRequest(page_size=1000))
    return [g for g in listed.groups if g.name == name]


def remove_made(cg: ConsistentGroup, name: str) -> None:
    if unit_property("ActiveState") != "active":
        sh("systemctl", "restart", UNIT, timeout=300)
    wait_serving()
    for gs in made_snapshots(cg, name):
        cg.api.group_snapshots.DeleteGroupSnapshot(
            gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id), timeout=300
        )
    for clone in made_clones(cg, name):
        delete_group(cg.api, clone.id)
