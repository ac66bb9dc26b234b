"""The server side of bench/mixed_mutations.py: cohortd in a process of its own (so that the
clients do not share its interpreter), with timers around the manager's mutations, the store's
transactions and the backend's methods, and optionally cProfile around the mutations.

The parent drives it through a pipe: "on" starts recording, "off" stops and answers the spans
recorded, "stop" stops the server (writing the profile, if any) and answers "stopped".
"""

from __future__ import annotations

import cProfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import structlog

from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import ServerConfig
from cohort.daemon.server import GrpcServer
from cohort.domain.capabilities import CapabilityPolicy
from cohort.manager import Manager
from cohort.sim import SimBackend
from cohort.sim.faults import METHODS
from cohort.store import SqlStore

MUTATIONS = (
    "create_volume",
    "extend_volume",
    "delete_volume",
    "create_snapshot",
    "delete_snapshot",
    "create_group",
    "update_group",
    "delete_group",
    "create_group_snapshot",
    "delete_group_snapshot",
)


@dataclass(frozen=True, slots=True)
class Span:
    """One timed interval: a client's call, or inside the server a manager call, a store
    transaction or a backend call."""

    what: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def holds(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


class Timers:
    """Spans recorded by wrappers around the server's manager, store and backend."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.on = False
        self._lock = threading.Lock()

    def add(self, what: str, start: float) -> None:
        if self.on:
            span = Span(what, start, time.perf_counter())
            with self._lock:
                self.spans.append(span)

    def wrap(self, obj: object, method: str, what: str) -> None:
        original = getattr(obj, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(what, start)

        setattr(obj, method, timed)

    def wrap_transactions(self, store: SqlStore) -> None:
        original = store.transaction

        @contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            start = time.perf_counter()
            try:
                with original(*args, **kwargs) as tx:
                    yield tx
            finally:
                self.add("store read" if kwargs.get("readonly") else "store", start)

        store.transaction = timed  # type: ignore[method-assign]


def serve(root: Path, timers: Timers, profiler: cProfile.Profile | None) -> GrpcServer:
    """cohortd on a file store in `root` and the sim, its socket `root`/cohortd.sock."""
    store = SqlStore.open(root / "state")
    sim = SimBackend(capacity_bytes=1 << 50)
    manager = Manager(store, sim, CapabilityPolicy(), host="bench")
    manager.recover()
    timers.wrap_transactions(store)
    for method in ("stats", *METHODS):
        timers.wrap(sim, method, "backend")
    for method in MUTATIONS:
        if profiler is not None:
            _profiled(manager, method, profiler)
        timers.wrap(manager, method, "manager")
    server = GrpcServer(
        ServerConfig(socket=str(root / "cohortd.sock")),
        manager,
        Broadcaster(manager.capabilities),
        capabilities_interval=60,
    )
    server.start()
    return server


def _profiled(manager: Manager, method: str, profiler: cProfile.Profile) -> None:
    original = getattr(manager, method)

    def profiled(*args: Any, **kwargs: Any) -> Any:
        profiler.enable()  # profiles this (server) thread; one client: one call at a time
        try:
            return original(*args, **kwargs)
        finally:
            profiler.disable()

    setattr(manager, method, profiled)


def serve_child(root: str, profile: str, pipe: Connection) -> None:
    """The child process: serve until told to stop; `profile`: where to dump cProfile's stats
    (empty: no profiling)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    timers = Timers()
    profiler = cProfile.Profile() if profile else None
    server = serve(Path(root), timers, profiler)
    pipe.send("ready")
    while True:
        command = pipe.recv()
        if command == "on":
            timers.spans, timers.on = [], True
        elif command == "off":
            timers.on = False
            pipe.send(timers.spans)
        elif command == "stop":
            server.stop(0)
            if profiler is not None:
                profiler.dump_stats(profile)
            pipe.send("stopped")
            return
