"""cohortd assembled from its config: store, backend, manager (recovered), gRPC server, metrics
endpoint and upstream reporters; started and stopped in order."""

from __future__ import annotations

import socket
from pathlib import Path

import structlog

from cohort.daemon.backends import build_backend
from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import Config
from cohort.daemon.exports import build_plane
from cohort.daemon.metrics import MetricsServer, observe_freeze
from cohort.daemon.server import GrpcServer
from cohort.daemon.upstream import UpstreamReporter
from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.store import Store
from cohort.lvm.run import CHILDREN
from cohort.manager import Manager
from cohort.store import SqlStore

log = structlog.get_logger(__name__)

#: How long cohortd waits at exit for the commands it started (an `lvm` command stopped midway
#: may leave a thin LV suspended); below the unit's TimeoutStopSec.
CHILDREN_WAIT_SECONDS = 40.0


def policy(config: Config) -> CapabilityPolicy:
    return CapabilityPolicy(
        volume_backend_name=config.backend.name,
        max_over_subscription_ratio=config.backend.max_over_subscription_ratio,
        reserved_percentage=config.backend.reserved_percentage,
        max_group_volumes=config.backend.max_group_volumes,
        max_consistent_group_volumes=config.freeze.max_group_volumes,
    )


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store: Store | None = None
        self.server: GrpcServer | None = None
        self.metrics: MetricsServer | None = None
        self.upstream: UpstreamReporter | None = None

    def start(self) -> None:
        """Build and start everything; on failure, what was started is stopped again."""
        try:
            self._start()
        except BaseException:
            self.stop(grace=0)
            raise

    def _start(self) -> None:
        cfg = self.config
        state_dir = Path(cfg.state.directory)
        backend = build_backend(cfg.backend, state_dir, cfg.freeze)
        self.store = SqlStore.open(state_dir)
        plane = build_plane(cfg.exports, cfg.backend.kind, state_dir)
        manager = Manager(self.store, backend, policy(cfg), socket.gethostname(), plane)
        manager.observe_freezes(observe_freeze)
        # The order of a start (cohort.manager.restore): the backend (gates and LVs resumed,
        # gates made), the journal resolved, the targets restored, then serving.
        manager.recover()
        manager.restore_exports()
        broadcaster = Broadcaster(manager.capabilities)
        manager.subscribe(broadcaster.notify)
        self.server = GrpcServer(
            cfg.server,
            manager,
            broadcaster,
            capabilities_interval=cfg.upstream.interval_seconds,
        )
        self.server.start()
        if cfg.metrics.address:
            self.metrics = MetricsServer(cfg.metrics.address)
            log.info("metrics", address=cfg.metrics.address, port=self.metrics.port)
        if cfg.upstream.endpoints:
            self.upstream = UpstreamReporter.from_config(cfg.upstream, broadcaster)
            self.upstream.start()

    def stop(self, grace: float | None = None) -> None:
        """Stop accepting, let running RPCs finish within the grace period, close the store."""
        if self.upstream is not None:
            self.upstream.stop()
            self.upstream = None
        if self.server is not None:
            self.server.stop(grace)
            self.server = None
        left = CHILDREN.wait(CHILDREN_WAIT_SECONDS)
        if left:
            log.error("commands still running at exit; left to finish", pids=left)
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None
        if self.store is not None:
            self.store.close()
            self.store = None
