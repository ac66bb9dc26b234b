"""The freeze against the naive loop, under a writer, in the guest (real LVM, cohortd running):

    vagrant/testbed exec -- 'cd /src && /opt/cohort/bin/python -m bench.freeze --rounds 3'

An 8-volume consistent group (the backend must report consistent_group_snapshot_enabled; a
plain group with `--plain`) under the ordered writer (`cohort.tools.ordered_writer`, through
the gates). Each round, in turn:
- the naive loop: 8 `lvcreate -s` processes, one after the other, on the group's 8 LVs with the
  host's own lvm.conf and dmeventd state (what Cinder's LVM driver does); timed from the first
  start to the last exit; the snapshots removed after the round;
- a group snapshot (CreateGroupSnapshot), its freeze record read from the answer; removed after;
- a clone of the group (CreateGroupFromSource), its freeze record read; removed after.
For each kind it prints the median and range over the rounds of the freeze window, the gates'
stalls (max, mean), the call's time and the writer's longest write while it ran; then the
ratios freeze window / naive loop (per round, the rounds interleave so drift hits both) and
mean stall / window. Freeze records are read defensively: without them only the naive loop's
and the calls' figures are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from tests.guest.freeze_kit import (
    Writer,
    delete_group,
    freeze_record,
    make_group,
    member_paths,
    require_consistent,
    unique,
)
from tests.guest.helpers import SOCKET
from tests.guest.test_scenario import VG, Client

#: The writer lists every write at least this slow, so each round's longest is known (0:
#: none that slow).
STALL_SECONDS = 0.05


@dataclass
class Round:
    #: CLOCK_MONOTONIC start and end of what was measured (the loop, or the call).
    started: float
    ended: float
    window: float | None = None
    stalls: list[float] = field(default_factory=list)
    longest_write: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def naive_loop(lvs: Sequence[str]) -> Round:
    started = time.monotonic()
    for i, lv in enumerate(lvs):
        subprocess.run(
            ["lvcreate", "--snapshot", "--name", f"bench-naive-{i}", "--", f"{VG}/{lv}"],
            check=True,
            capture_output=True,
        )
    ended = time.monotonic()
    for i in range(len(lvs)):
        subprocess.run(["lvremove", "--yes", "--", f"{VG}/bench-naive-{i}"], capture_output=True)
    return Round(started, ended)


def from_record(started: float, ended: float, record: dict[str, Any] | None) -> Round:
    measured = Round(started, ended)
    if record is not None:
        measured.window = float(record.get("windowSeconds", 0.0))
        measured.stalls = [float(s.get("stallSeconds", 0.0)) for s in record.get("stalls", [])]
    return measured


def group_snapshot(api: Client, group: g_pb.Group) -> Round:
    started = time.monotonic()
    gs = api.group_snapshots.CreateGroupSnapshot(
        gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=unique("bench-gs")), timeout=600
    )
    measured = from_record(started, time.monotonic(), freeze_record(gs))
    api.group_snapshots.DeleteGroupSnapshot(
        gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id), timeout=600
    )
    return measured


def group_clone(api: Client, group: g_pb.Group) -> Round:
    started = time.monotonic()
    clone = api.groups.CreateGroupFromSource(
        g_pb.CreateGroupFromSourceRequest(name=unique("bench-clone"), source_group_id=group.id),
        timeout=600,
    )
    measured = from_record(started, time.monotonic(), freeze_record(clone))
    delete_group(api, clone.id)
    return measured


def longest_writes(rounds: Sequence[Round], stalls: Sequence[dict[str, float]]) -> None:
    """Each round's longest write: the slowest listed write that overlapped it."""
    for measured in rounds:
        overlapping = [
            s["seconds"]
            for s in stalls
            if s["started"] < measured.ended and s["started"] + s["seconds"] > measured.started
        ]
        measured.longest_write = max(overlapping, default=0.0)


def spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"median {med:7.3f}  range {min(values):7.3f}-{max(values):7.3f}"


def report(results: dict[str, list[Round]], writer: dict[str, Any]) -> None:
    naive = results["naive loop"]
    print(f"writer: {writer['writes']} writes, latency (s) {writer['latency']}")
    print(f"{'naive loop':12s} loop          {spread([r.seconds for r in naive])}")
    print(f"{'':12s} longest write {spread([r.longest_write for r in naive])}")
    for kind in ("group snapshot", "group clone"):
        rounds = results[kind]
        print(f"{kind:12s} call          {spread([r.seconds for r in rounds])}")
        print(f"{'':12s} longest write {spread([r.longest_write for r in rounds])}")
        timed = [r for r in rounds if r.window is not None]
        if not timed:
            print(f"{'':12s} (no freeze record in the answers)")
            continue
        windows = [r.window or 0.0 for r in timed]
        print(f"{'':12s} window        {spread(windows)}")
        print(f"{'':12s} stall max     {spread([max(r.stalls, default=0.0) for r in timed])}")
        means = [statistics.fmean(r.stalls) if r.stalls else 0.0 for r in timed]
        print(f"{'':12s} stall mean    {spread(means)}")
        per_round = [w / n.seconds for w, n in zip(windows, naive, strict=False)]
        print(f"{'':12s} window / naive loop   {spread(per_round)}  (target <= 0.35)")
        ratios = [m / w for m, w in zip(means, windows, strict=True) if w > 0]
        print(f"{'':12s} mean stall / window   {spread(ratios)}  (target <= 0.6)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="a plain group (no freeze)")
    args = parser.parse_args()
    with grpc.insecure_channel(f"unix://{SOCKET}") as channel:
        api = Client(channel)
        consistent = not args.plain
        if consistent:
            require_consistent(api)
        group = make_group(api, unique("bench-freeze"), consistent=consistent)
        print(f"{'consistent' if consistent else 'plain'} group of {len(group.volume_ids)}")
        order, paths = member_paths(api, group)
        lvs = [f"volume-{v}" for v in order]
        kinds: dict[str, Callable[[], Round]] = {
            "naive loop": lambda: naive_loop(lvs),
            "group snapshot": lambda: group_snapshot(api, group),
            "group clone": lambda: group_clone(api, group),
        }
        results: dict[str, list[Round]] = {kind: [] for kind in kinds}
        try:
            with Writer(paths, stall_seconds=STALL_SECONDS) as writer:
                for _ in range(args.rounds):
                    for kind, run in kinds.items():
                        writer.wait_progress(writer.progress()["done"] + 20, timeout=120)
                        results[kind].append(run())
                summary = writer.stop()
        finally:
            delete_group(api, group.id)
    for rounds in results.values():
        longest_writes(rounds, summary["stalls"])
    report(results, summary)


if __name__ == "__main__":
    main()
