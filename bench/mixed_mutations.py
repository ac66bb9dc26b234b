"""Mixed mutations over gRPC on the simulated backend: throughput and latency with 1 and with 32
clients, and where a mutation's time goes.

    python -m bench.mixed_mutations [--seconds 10] [--clients 1 32] [--profile 20]

(from the checkout's root). cohortd runs in a process of its own (bench/mutation_server.py: file
store in a temporary state directory, as the daemon opens it; unix socket; logs filtered to
errors); the clients are threads of this one. Each client has a channel of its own and repeats one
cycle over objects of its own: two volumes, an extend, a snapshot, a group, an add, a group
snapshot, a volume from the snapshot, then every delete (14 mutations, every kind but the
creates from a group source). Printed: mutations per second, p50/p99 per kind, and for the
single client the mean of each call split into gRPC and servicer, the manager's own work, store
transactions (journal steps apart), and the backend. `--profile N` adds the N functions with the
most cumulative time inside the manager (cProfile, single client).
"""

from __future__ import annotations

import argparse
import multiprocessing
import pstats
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench.mutation_server import Span, serve_child
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.inprocess import Stubs

MIB = 1024**2


class Client:
    """One client: a channel, its own objects, and the spans of its calls."""

    def __init__(self, target: str, index: int) -> None:
        self.channel = grpc.insecure_channel(target)
        self.api = Stubs(self.channel)
        self.prefix = f"c{index}"
        self.calls: list[Span] = []
        self.failures: list[str] = []
        self._serial = 0

    def call(self, kind: str, stub: Callable[..., Any], request: Any) -> Any:
        start = time.perf_counter()
        try:
            reply = stub(request, timeout=60)
        except grpc.RpcError as error:
            self.failures.append(f"{kind}: {error.code().name} {error.details()}")
            raise
        self.calls.append(Span(kind, start, time.perf_counter()))
        return reply

    def name(self, what: str) -> str:
        self._serial += 1
        return f"{self.prefix}-{what}{self._serial}"

    def cycle(self) -> None:
        """14 mutations over objects of its own, leaving nothing behind."""
        api, call = self.api, self.call
        vols = [
            call(
                "CreateVolume",
                api.volumes.CreateVolume,
                v_pb.CreateVolumeRequest(name=self.name("v"), size_bytes=8 * MIB, volume_type="b"),
            )
            for _ in range(2)
        ]
        call(
            "ExtendVolume",
            api.volumes.ExtendVolume,
            v_pb.ExtendVolumeRequest(volume_id=vols[0].id, new_size_bytes=16 * MIB),
        )
        snap = call(
            "CreateSnapshot",
            api.snapshots.CreateSnapshot,
            s_pb.CreateSnapshotRequest(volume_id=vols[0].id, name=self.name("s")),
        )
        group = call(
            "CreateGroup",
            api.groups.CreateGroup,
            g_pb.CreateGroupRequest(name=self.name("g"), group_type="b", volume_types=["b"]),
        )
        call(
            "UpdateGroup",
            api.groups.UpdateGroup,
            g_pb.UpdateGroupRequest(group_id=group.id, add_volume_ids=[vols[1].id]),
        )
        gsnap = call(
            "CreateGroupSnapshot",
            api.group_snapshots.CreateGroupSnapshot,
            gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=self.name("gs")),
        )
        copy = call(
            "CreateVolume (from snapshot)",
            api.volumes.CreateVolume,
            v_pb.CreateVolumeRequest(name=self.name("v"), volume_type="b", snapshot_id=snap.id),
        )
        call(
            "DeleteGroupSnapshot",
            api.group_snapshots.DeleteGroupSnapshot,
            gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gsnap.id),
        )
        call(
            "DeleteGroup",
            api.groups.DeleteGroup,
            g_pb.DeleteGroupRequest(group_id=group.id, delete_volumes=True),
        )
        call(
            "DeleteSnapshot",
            api.snapshots.DeleteSnapshot,
            s_pb.DeleteSnapshotRequest(snapshot_id=snap.id),
        )
        for vol in (vols[0], copy):
            call(
                "DeleteVolume", api.volumes.DeleteVolume, v_pb.DeleteVolumeRequest(volume_id=vol.id)
            )

    def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                self.cycle()
        except grpc.RpcError:
            pass  # recorded in failures


def run_clients(target: str, clients: int, seconds: float) -> tuple[list[Client], float]:
    workers = [Client(target, i) for i in range(clients)]
    for worker in workers:
        grpc.channel_ready_future(worker.channel).result(timeout=10)
    started = time.monotonic()
    threads = [threading.Thread(target=w.run, args=(started + seconds,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.channel.close()
    return workers, elapsed


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(workers: list[Client]) -> dict[str, list[float]]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for worker in workers:
        for span in worker.calls:
            by_kind[span.what].append(span.seconds)
    return by_kind


def breakdown(calls: list[Span], spans: list[Span]) -> dict[str, dict[str, float]]:
    """Per kind, the mean seconds of a call in each part, and ("store n", "journal n") the mean
    number of transactions (single client: every server span falls inside the one call that was
    in flight)."""
    spans = sorted(spans, key=lambda s: s.start)
    parts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    index = 0
    for call in sorted(calls, key=lambda s: s.start):
        while index < len(spans) and spans[index].start < call.start:
            index += 1
        inside = []
        while index < len(spans) and spans[index].end <= call.end:
            inside.append(spans[index])
            index += 1
        counts[call.what] += 1
        sums = parts[call.what]
        sums["total"] += call.seconds
        backends = [s for s in inside if s.what == "backend"]
        managers = [s for s in inside if s.what == "manager"]
        for span in inside:
            if not span.what.startswith("store"):
                sums[span.what] += span.seconds
            elif any(b.holds(span) for b in backends):
                sums["journal"] += span.seconds
                sums["journal n"] += 1
            elif any(m.holds(span) for m in managers):
                sums["store"] += span.seconds
                sums["store n"] += 1
    return {
        kind: {part: total / counts[kind] for part, total in sums.items()}
        for kind, sums in parts.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    opts = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        profile = str(root / "profile") if opts.profile else ""
        pipe, child_end = context.Pipe()
        server = context.Process(target=serve_child, args=(tmp, profile, child_end))
        server.start()
        assert pipe.recv() == "ready"
        target = f"unix://{root / 'cohortd.sock'}"
        with grpc.insecure_channel(target) as channel:
            Stubs(channel).types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name="b"))
            Stubs(channel).types.CreateGroupType(t_pb.CreateGroupTypeRequest(name="b"))
        print(f"mixed mutations, sim backend, file store, unix socket, {opts.seconds:.0f} s a run")
        print("cohortd in a process of its own; the clients in this one")
        for clients in opts.clients:
            pipe.send("on")
            workers, elapsed = run_clients(target, clients, opts.seconds)
            pipe.send("off")
            spans: list[Span] = pipe.recv()
            report(workers, elapsed, clients)
            if clients == 1:
                report_breakdown(workers[0].calls, spans)
            report_utilisation(spans, elapsed)
        pipe.send("stop")
        assert pipe.recv() == "stopped"
        server.join(timeout=30)
        if profile:
            print(f"\nmanager, single client: top {opts.profile} by cumulative time")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(opts.profile)


def report(workers: list[Client], elapsed: float, clients: int) -> None:
    by_kind = latencies(workers)
    total = sum(len(v) for v in by_kind.values())
    failures = [f for w in workers for f in w.failures]
    print(f"\n{clients} client(s): {total / elapsed:.0f} mutations/s ({total} in {elapsed:.1f} s)")
    for line in failures[:5]:
        print(f"  failed: {line}")
    print(f"  {'kind':30s} {'count':>6s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for kind, values in sorted(by_kind.items()):
        p50, p99 = quantile(values, 0.5) * 1e3, quantile(values, 0.99) * 1e3
        print(f"  {kind:30s} {len(values):6d} {p50:8.2f} {p99:8.2f}")


def report_breakdown(calls: list[Span], spans: list[Span]) -> None:
    parts = breakdown(calls, spans)
    print("\n  where a call's time goes (single client, mean ms; n: transactions a call)")
    header = ("total", "gRPC+servicer", "manager own", "store tx (n)", "journal (n)", "backend")
    print(f"  {'kind':30s} " + " ".join(f"{h:>14s}" for h in header))
    for kind, means in sorted(parts.items()):
        manager = means.get("manager", 0.0)
        own = manager - means.get("store", 0.0) - means.get("backend", 0.0)
        cells = [
            f"{means['total'] * 1e3:14.2f}",
            f"{(means['total'] - manager) * 1e3:14.2f}",
            f"{own * 1e3:14.2f}",
            f"{means.get('store', 0.0) * 1e3:8.2f} ({means.get('store n', 0.0):3.1f})",
            f"{means.get('journal', 0.0) * 1e3:8.2f} ({means.get('journal n', 0.0):3.1f})",
            f"{(means.get('backend', 0.0) - means.get('journal', 0.0)) * 1e3:14.2f}",
        ]
        print(f"  {kind:30s} " + " ".join(cells))


def report_utilisation(spans: list[Span], elapsed: float) -> None:
    """How much of the run a write transaction was open (SQLite has one writer at a time), and
    how many manager calls were in flight on average."""
    writes = sorted((s for s in spans if s.what == "store"), key=lambda s: s.start)
    busy, reach = 0.0, 0.0
    for span in writes:
        busy += max(0.0, span.end - max(span.start, reach))
        reach = max(reach, span.end)
    in_flight = sum(s.seconds for s in spans if s.what == "manager") / elapsed
    print(
        f"  a write transaction was open {100 * busy / elapsed:.0f}% of the run; "
        f"manager calls in flight: {in_flight:.1f} on average"
    )


if __name__ == "__main__":
    main()
