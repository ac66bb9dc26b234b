"""Unary-read throughput of cohortd with 10k volumes in its store, next to a bare grpcio echo
server measured in the same run, on the same transport (unix sockets) and client.

    python bench/unary_reads.py [--volumes 10000] [--rounds 5] [--seconds 2] [--threads 4]

Prints calls per second for GetVolume and ListVolumes (page of 100), each next to an echo whose
answer is as large as that read's answer, and each read as a ratio of its echo: the overhead
cohort adds over gRPC itself on this machine, in this run. Before measuring, it checks that a
read reflects an acknowledged write (nothing is cached across calls).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import grpc
import structlog

from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import ServerConfig
from cohort.daemon.server import GrpcServer
from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.model import Volume, VolumeStatus, VolumeType
from cohort.manager import Manager
from cohort.sim import SimBackend
from cohort.store import SqlStore
from cohort.v1 import volumes_pb2, volumes_pb2_grpc

ECHO_SERVICE = "bench.Echo"


def echo_server(socket: Path, answers: dict[str, bytes]) -> grpc.Server:
    """A bare grpcio server whose method `name` answers `answers[name]`, whatever it is asked."""

    def answering(answer: bytes) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(lambda request, context: answer)

    handler = grpc.method_handlers_generic_handler(
        ECHO_SERVICE, {name: answering(answer) for name, answer in answers.items()}
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=64))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    return server


def cohort_server(state: Path, socket: Path, volumes: int) -> tuple[GrpcServer, list[str]]:
    store = SqlStore.open(state)
    sim = SimBackend(capacity_bytes=1 << 50)
    manager = Manager(store, sim, CapabilityPolicy(), host="bench")
    vtype = VolumeType(name="bench")
    ids = []
    with store.transaction() as tx:
        tx.volume_types.add(vtype)
        for i in range(volumes):
            vol = Volume(
                name=f"vol-{i:06d}",
                size_bytes=1 << 30,
                volume_type_id=vtype.id,
                status=VolumeStatus.AVAILABLE,
            )
            tx.volumes.add(vol)
            ids.append(vol.id)
    broadcaster = Broadcaster(manager.capabilities)
    server = GrpcServer(
        ServerConfig(socket=str(socket)), manager, broadcaster, capabilities_interval=60
    )
    server.start()
    return server, ids


def measure(call: Callable[[], object], seconds: float, threads: int) -> float:
    """Calls per second, `threads` client threads calling as fast as they can."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(slot: int) -> None:
        while time.monotonic() < stop:
            call()
            counts[slot] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - started)


def check_reads_are_fresh(stub: volumes_pb2_grpc.VolumesStub) -> None:
    """A read after an acknowledged write sees the write."""
    created = stub.CreateVolume(
        volumes_pb2.CreateVolumeRequest(name="fresh", size_bytes=1 << 30, volume_type="bench")
    )
    request = volumes_pb2.GetVolumeRequest(volume_id=created.id)
    if stub.GetVolume(request) != created:
        raise RuntimeError("GetVolume did not reflect an acknowledged CreateVolume")
    extended = stub.ExtendVolume(
        volumes_pb2.ExtendVolumeRequest(volume_id=created.id, new_size_bytes=2 << 30)
    )
    if stub.GetVolume(request) != extended or extended.size_bytes == created.size_bytes:
        raise RuntimeError("GetVolume did not reflect an acknowledged ExtendVolume")
    stub.DeleteVolume(volumes_pb2.DeleteVolumeRequest(volume_id=created.id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=2.0, help="per round and call")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    opts = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.monotonic()
        server, ids = cohort_server(root / "state", root / "cohortd.sock", opts.volumes)
        print(f"store: {opts.volumes} volumes loaded in {time.monotonic() - t0:.1f} s")
        cohort_channel = grpc.insecure_channel(f"unix://{root / 'cohortd.sock'}")
        stub = volumes_pb2_grpc.VolumesStub(cohort_channel)
        check_reads_are_fresh(stub)
        rng = random.Random(1)
        list_request = volumes_pb2.ListVolumesRequest(page_size=100)

        def get() -> object:
            return stub.GetVolume(volumes_pb2.GetVolumeRequest(volume_id=rng.choice(ids)))

        def list_page() -> object:
            return stub.ListVolumes(list_request)

        reads = {"GetVolume": get, "ListVolumes(100)": list_page}
        answers = {name: call().SerializeToString() for name, call in reads.items()}  # type: ignore[attr-defined]
        echo = echo_server(root / "echo.sock", answers)
        echo_channel = grpc.insecure_channel(f"unix://{root / 'echo.sock'}")
        asked = volumes_pb2.GetVolumeRequest(volume_id=ids[0]).SerializeToString()
        echoes = {
            name: partial(echo_channel.unary_unary(f"/{ECHO_SERVICE}/{name}"), asked)
            for name in reads
        }
        rates: dict[str, list[float]] = {}
        for _ in range(opts.rounds):  # a read and its echo alternate: load drifts hit both
            for name, read in reads.items():
                for label, call in ((f"echo {name}", echoes[name]), (name, read)):
                    call()  # warm up the channel
                    rates.setdefault(label, []).append(measure(call, opts.seconds, opts.threads))
        print(
            f"{opts.threads} client threads, {opts.rounds} rounds of {opts.seconds:g} s each,"
            " unix sockets"
        )
        for name in reads:
            rate, base = statistics.mean(rates[name]), statistics.mean(rates[f"echo {name}"])
            rounds = [r / e for r, e in zip(rates[name], rates[f"echo {name}"], strict=True)]
            print(
                f"  {name:18s} {rate:8.0f} calls/s   echo of {len(answers[name]):6d} bytes"
                f" {base:8.0f} calls/s   ratio to echo {rate / base:5.3f}"
                f" (rounds {min(rounds):.3f} to {max(rounds):.3f})"
            )
        cohort_channel.close()
        echo_channel.close()
        server.stop(0)
        echo.stop(0)


if __name__ == "__main__":
    main()
