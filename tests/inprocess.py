"""An in-process cohortd for tests: real servicers, manager, in-memory SQL store and sim backend,
served by GrpcServer on a unix socket, with a stub for every service."""

from __future__ import annotations

from pathlib import Path

import grpc

from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import ServerConfig
from cohort.daemon.server import GrpcServer
from cohort.domain.capabilities import CapabilityPolicy
from cohort.manager import Manager
from cohort.sim import FaultPlan, SimBackend
from cohort.store import SqlStore
from cohort.v1 import (
    capabilities_pb2_grpc,
    consistency_groups_pb2_grpc,
    exports_pb2_grpc,
    group_snapshots_pb2_grpc,
    groups_pb2_grpc,
    snapshots_pb2_grpc,
    types_pb2_grpc,
    volumes_pb2_grpc,
)

GIB = 1024**3


class Stubs:
    """A stub for every cohort.v1 service on one channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.types = types_pb2_grpc.TypesStub(channel)
        self.volumes = volumes_pb2_grpc.VolumesStub(channel)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(channel)
        self.groups = groups_pb2_grpc.GroupsStub(channel)
        self.group_snapshots = group_snapshots_pb2_grpc.GroupSnapshotsStub(channel)
        self.cgs = consistency_groups_pb2_grpc.ConsistencyGroupsStub(channel)
        self.capabilities = capabilities_pb2_grpc.CapabilitiesStub(channel)
        self.exports = exports_pb2_grpc.ExportsStub(channel)


class Daemon(Stubs):
    """A started in-process cohortd and a client of it; the sim and manager stay reachable."""

    def __init__(self, socket: Path, interval: float = 30.0, **server_config: object) -> None:
        self.store = SqlStore.memory()
        self.sim = SimBackend(capacity_bytes=100 * GIB)
        self.manager = Manager(self.store, self.sim, CapabilityPolicy(), host="test-host")
        self.manager.recover()
        self.broadcaster = Broadcaster(self.manager.capabilities)
        self.manager.subscribe(self.broadcaster.notify)
        config = ServerConfig(socket=str(socket), grace_seconds=0.5, **server_config)  # type: ignore[arg-type]
        self.server = GrpcServer(
            config, self.manager, self.broadcaster, capabilities_interval=interval
        )
        self.server.start()
        super().__init__(grpc.insecure_channel(f"unix://{socket}"))

    @property
    def api(self) -> Stubs:
        return self

    def faults(self, **tables: dict[str, object]) -> None:
        """Set the sim's fault plan, e.g. faults(delete_group={"raise": True})."""
        self.sim.set_faults(FaultPlan.parse(tables))

    def stop(self) -> None:
        self.channel.close()
        self.server.stop(0)
        self.store.close()
