"""Group snapshots and clones of a group under a writer that orders its writes across the group's
8 volumes (`cohort.tools.ordered_writer`, through the volumes' gates): a plain group's images are
torn (the checker sees it), a consistent group's are each exactly the writes 1..S; and a freeze
held by the test hook leaves the gates suspended while `lvs`, `vgs` and `pvs` run by another
process return. The fault matrix is in test_freeze_faults.py.

The LVM backend must report consistent_group_snapshot_enabled; the hook tests install a drop-in
that sets cohortd's `[freeze] test_hooks_dir` and restart cohortd once
(tests/guest/freeze_kit.py)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from cohort.tools.ordered_check import Verdict
from cohort.v1 import common_pb2 as c
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb

from .freeze_kit import (
    HOOKS_DIR,
    Writer,
    clear_hooks,
    clone_verdict,
    delete_group,
    freeze_record,
    hold_at,
    make_group,
    member_paths,
    require_consistent,
    resume_everything_of_cohort,
    snapshot_verdict,
    suspended_devices,
    took_freeze,
    unique,
    wait_reached,
)
from .helpers import SOCKET
from .test_scenario import Client

#: Rounds of (group snapshot, clone of the group) under the writer: a consistent group's images
#: must all be consistent; a plain group's need only show that the checker sees a torn one
#: (every one of 6 was torn in the guest; each round costs about a minute there).
ROUNDS = {"consistent": 3, "plain": 2}
#: Writes the writer must complete between two images (so each is taken under I/O).
BETWEEN = 20
#: The held freeze: long enough for `lvs`, `vgs` and `pvs` to answer, short enough that the
#: hold and the 8 snapshots fit the guard's deadline ([freeze] deadline_seconds, 10 s).
HOLD = 4.0


@pytest.fixture
def api(cohortd: None) -> Iterator[Client]:
    with grpc.insecure_channel(f"unix://{SOCKET}") as channel:
        yield Client(channel)


@dataclass(frozen=True)
class Image:
    kind: str
    verdict: Verdict
    record: dict[str, Any] | None


def images_under_writer(api: Client, group: g_pb.Group, rounds: int) -> list[Image]:
    """`rounds` group snapshots and clones of `group` while the writer runs, judged."""
    order, paths = member_paths(api, group)
    taken: list[gs_pb.GroupSnapshot | g_pb.Group] = []
    with Writer(paths) as writer:
        for r in range(rounds):
            writer.wait_progress(writer.progress()["done"] + BETWEEN, timeout=120)
            gs = api.group_snapshots.CreateGroupSnapshot(
                gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"{group.name}-s{r}"),
                timeout=600,
            )
            assert gs.status == c.SNAPSHOT_STATUS_AVAILABLE
            taken.append(gs)
            writer.wait_progress(writer.progress()["done"] + BETWEEN, timeout=120)
            clone = api.groups.CreateGroupFromSource(
                g_pb.CreateGroupFromSourceRequest(
                    name=f"{group.name}-c{r}", source_group_id=group.id
                ),
                timeout=600,
            )
            assert clone.status == c.GROUP_STATUS_AVAILABLE
            taken.append(clone)
        summary = writer.stop()
    print(f"writer: {summary['writes']} writes, latency {summary['latency']}")
    results = []
    for image in taken:
        if isinstance(image, gs_pb.GroupSnapshot):
            kind, verdict = "snapshot", snapshot_verdict(api, image, order)
        else:
            kind, verdict = "clone", clone_verdict(api, image, order)
        print(f"{kind}: consistent={verdict.consistent} last={verdict.last} holes={verdict.holes}")
        assert not verdict.problems, verdict.problems
        results.append(Image(kind, verdict, freeze_record(image)))
    return results


def delete_clones(api: Client, group: g_pb.Group) -> None:
    for g in api.groups.ListGroups(g_pb.ListGroupsRequest(page_size=1000)).groups:
        if g.source_group_id == group.id:
            delete_group(api, g.id)
    delete_group(api, group.id)


def test_plain_group_images_are_torn(api: Client) -> None:
    """The checker sees torn images: a plain group's members are snapshotted one by one while
    the writer goes on, so an image holds later writes on one volume and misses earlier ones
    on another. Not every round must tear (a round can fall between writes); one must."""
    group = make_group(api, unique("plain"), consistent=False)
    results = images_under_writer(api, group, ROUNDS["plain"])
    torn = [image.kind for image in results if not image.verdict.consistent]
    assert torn, f"no torn image in {len(results)} images of a plain group under the writer"
    assert not any(took_freeze(image.record) for image in results)
    delete_clones(api, group)


def test_consistent_group_images_hold_exactly_a_prefix(api: Client) -> None:
    require_consistent(api)
    group = make_group(api, unique("cons"), consistent=True)
    results = images_under_writer(api, group, ROUNDS["consistent"])
    for image in results:
        assert image.verdict.consistent, f"torn {image.kind}: {image.verdict}"
        assert image.verdict.last > 0
        assert took_freeze(image.record), f"{image.kind} without a freeze record: {image.record}"
    delete_clones(api, group)


@pytest.mark.full_matrix  # the plain group proves the same in CI; this costs 3 minutes more
def test_no_freeze_hook_tears_a_consistent_group(api: Client, freeze_hooks: None) -> None:
    """The same writer and checker with the freeze switched off by the test-only switch."""
    group = make_group(api, unique("nofz"), consistent=True)
    (HOOKS_DIR / "no_freeze").touch()
    try:
        results = images_under_writer(api, group, ROUNDS["plain"])
    finally:
        clear_hooks()
    assert any(not image.verdict.consistent for image in results)
    delete_clones(api, group)


def test_held_freeze_suspends_gates_and_lvm_reports_return(api: Client, freeze_hooks: None) -> None:
    """While a freeze is held (hook: frozen, HOLD seconds) every gate of the group is
    SUSPENDED in `dmsetup info`, and `lvs`, `vgs` and `pvs` run by another process return
    before the hold is over (LVM never opens a suspended gate). The hold counts against the
    deadline: the group snapshot is then available and consistent, or (the deadline passed
    before the last image: ABORTED) in error."""
    group = make_group(api, unique("hold"), consistent=True)
    order, paths = member_paths(api, group)
    gates = {p.removeprefix("/dev/mapper/") for p in paths}
    errors: list[grpc.RpcError] = []

    def snapshot() -> None:
        try:
            api.group_snapshots.CreateGroupSnapshot(
                gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"{group.name}-s"),
                timeout=600,
            )
        except grpc.RpcError as exc:
            errors.append(exc)

    call = threading.Thread(target=snapshot)
    try:
        with Writer(paths):
            hold_at("frozen", HOLD)
            call.start()
            wait_reached("frozen")
            assert suspended_devices("cohort-gate-") >= gates
            reports = [
                subprocess.Popen([cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for cmd in ("lvs", "vgs", "pvs")
            ]
            for proc in reports:
                _, err = proc.communicate(timeout=60)
                assert proc.returncode == 0, err
            still = suspended_devices("cohort-gate-")
            assert still >= gates, "the hold ended before lvs, vgs and pvs returned: lengthen it"
            call.join(600)
    finally:
        clear_hooks()
        if call.is_alive():
            resume_everything_of_cohort()
            call.join(600)
    listed = api.group_snapshots.ListGroupSnapshots(gs_pb.ListGroupSnapshotsRequest())
    (gs,) = [g for g in listed.group_snapshots if g.group_id == group.id]
    if errors:
        assert errors[0].code() == grpc.StatusCode.ABORTED, errors[0].details()
        assert gs.status == c.SNAPSHOT_STATUS_ERROR
    else:
        assert gs.status == c.SNAPSHOT_STATUS_AVAILABLE and took_freeze(freeze_record(gs))
        assert snapshot_verdict(api, gs, order).consistent
    assert not suspended_devices("cohort-")
    delete_group(api, group.id)
