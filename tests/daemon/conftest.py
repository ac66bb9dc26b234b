"""The daemon under test: real servicers, manager, in-memory SQL store and sim backend, served
by GrpcServer on a unix socket in tmp, with a stub for every service."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import ServerConfig
from cohort.daemon.server import GrpcServer
from cohort.domain.capabilities import CapabilityPolicy
from cohort.manager import Manager
from cohort.sim import SimBackend
from cohort.store import SqlStore
from cohort.v1 import (
    capabilities_pb2_grpc,
    consistency_groups_pb2_grpc,
    group_snapshots_pb2_grpc,
    groups_pb2_grpc,
    snapshots_pb2_grpc,
    types_pb2_grpc,
    volumes_pb2_grpc,
)

from .certs import Certs, make_certs

GIB = 1024**3


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""
    return make_certs(tmp_path_factory.mktemp("certs"))


class Stubs:
    """A stub for every cohort.v1 service on one channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.types = types_pb2_grpc.TypesStub(self.channel)
        self.volumes = volumes_pb2_grpc.VolumesStub(self.channel)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(self.channel)
        self.groups = groups_pb2_grpc.GroupsStub(self.channel)
        self.group_snapshots = group_snapshots_pb2_grpc.GroupSnapshotsStub(self.channel)
        self.cgs = consistency_groups_pb2_grpc.ConsistencyGroupsStub(self.channel)
        self.capabilities = capabilities_pb2_grpc.CapabilitiesStub(self.channel)


@dataclass
class Daemon:
    server: GrpcServer
    manager: Manager
    broadcaster: Broadcaster
    sim: SimBackend
    api: Stubs


Serve = Callable[..., Daemon]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """serve(**server_config) -> a started Daemon; everything is stopped at teardown."""
    started: list[tuple[GrpcServer, grpc.Channel, SqlStore]] = []

    def start(interval: float = 30.0, **server_config: object) -> Daemon:
        store = SqlStore.memory()
        sim = SimBackend(capacity_bytes=100 * GIB)
        manager = Manager(store, sim, CapabilityPolicy(), host="test-host")
        manager.recover()
        broadcaster = Broadcaster(manager.capabilities)
        manager.subscribe(broadcaster.notify)
        server_config.setdefault("socket", str(tmp_path / f"s{len(started)}" / "cohortd.sock"))
        config = ServerConfig(grace_seconds=0.5, **server_config)  # type: ignore[arg-type]
        server = GrpcServer(config, manager, broadcaster, capabilities_interval=interval)
        server.start()
        channel = grpc.insecure_channel(f"unix://{config.socket}")
        started.append((server, channel, store))
        return Daemon(server, manager, broadcaster, sim, Stubs(channel))

    yield start
    for server, channel, store in started:
        channel.close()
        server.stop(0)
        store.close()


@pytest.fixture
def daemon(serve: Serve) -> Daemon:
    return serve()


@pytest.fixture
def api(daemon: Daemon) -> Stubs:
    return daemon.api
