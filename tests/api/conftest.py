"""An in-process cohortd (real servicers, manager, SQL store, sim backend) on a unix socket,
and stubs for every service: the API as a client sees it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import ServerConfig
from cohort.daemon.server import GrpcServer
from cohort.domain.capabilities import CapabilityPolicy
from cohort.manager import Manager
from cohort.sim import FaultPlan, SimBackend
from cohort.store import SqlStore
from cohort.v1 import (
    consistency_groups_pb2_grpc,
    group_snapshots_pb2_grpc,
    groups_pb2_grpc,
    snapshots_pb2_grpc,
    types_pb2_grpc,
    volumes_pb2_grpc,
)

GIB = 1024**3


@dataclass
class Api:
    channel: grpc.Channel
    sim: SimBackend
    manager: Manager
    store: SqlStore

    def __post_init__(self) -> None:
        self.types = types_pb2_grpc.TypesStub(self.channel)
        self.volumes = volumes_pb2_grpc.VolumesStub(self.channel)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(self.channel)
        self.groups = groups_pb2_grpc.GroupsStub(self.channel)
        self.group_snapshots = group_snapshots_pb2_grpc.GroupSnapshotsStub(self.channel)
        self.cgs = consistency_groups_pb2_grpc.ConsistencyGroupsStub(self.channel)

    def faults(self, **tables: dict[str, object]) -> None:
        """Set the sim's fault plan, e.g. faults(delete_group={"raise": True})."""
        self.sim.set_faults(FaultPlan.parse(tables))


def serve(tmp_path: Path, sim: SimBackend, store: SqlStore) -> tuple[GrpcServer, Manager]:
    manager = Manager(store, sim, CapabilityPolicy(), host="test-host")
    manager.recover()
    broadcaster = Broadcaster(manager.capabilities)
    manager.subscribe(broadcaster.notify)
    config = ServerConfig(socket=str(tmp_path / "cohortd.sock"), grace_seconds=0.5)
    server = GrpcServer(config, manager, broadcaster, capabilities_interval=1.0)
    server.start()
    return server, manager


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    sim = SimBackend(capacity_bytes=100 * GIB)
    store = SqlStore.memory()
    server, manager = serve(tmp_path, sim, store)
    channel = grpc.insecure_channel(f"unix://{tmp_path / 'cohortd.sock'}")
    try:
        yield Api(channel, sim, manager, store)
    finally:
        channel.close()
        server.stop(0)
        store.close()
