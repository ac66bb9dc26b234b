"""Capability reporting to upstream CapabilityReceiver endpoints.

One thread per endpoint: it pushes at start, on every change of the capabilities' generation
and at least every interval. While an endpoint is down it retries with exponential backoff and
jitter, and logs only the transitions (down, up again), not every failed attempt.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog

from cohort.daemon.broadcaster import Broadcaster, Published
from cohort.daemon.config import UpstreamConfig
from cohort.daemon.servicers.capabilities import message
from cohort.v1 import capabilities_pb2, capabilities_pb2_grpc

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds before retry number `failures` (>= 1): doubling up to `cap`, jittered into
        [half, full] so that many hosts do not retry in step."""
        ceiling = min(self.cap, self.initial * 2 ** min(failures - 1, 32))
        return random.uniform(ceiling / 2, ceiling)


def channel_credentials(config: UpstreamConfig) -> Any:
    """TLS credentials when `tls_ca` is set (with a client certificate when given), else None."""
    if not config.tls_ca:
        return None
    key = Path(config.tls_key).read_bytes() if config.tls_key else None
    cert = Path(config.tls_cert).read_bytes() if config.tls_cert else None
    return grpc.ssl_channel_credentials(Path(config.tls_ca).read_bytes(), key, cert)


class EndpointReporter:
    def __init__(
        self,
        endpoint: str,
        broadcaster: Broadcaster,
        interval: float,
        *,
        credentials: Any = None,
        backoff: Backoff = Backoff(),
        timeout: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self._broadcaster = broadcaster
        self._interval = interval
        self._credentials = credentials
        self._backoff = backoff
        self._timeout = timeout
        self._stop = threading.Event()
        self.reports = 0  # successful pushes
        self.failures = 0  # consecutive failed pushes
        self._thread = threading.Thread(target=self._run, name=f"upstream-{endpoint}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._broadcaster.wake()
        self._thread.join(timeout)

    def _channel(self) -> Any:
        # gRPC's own reconnect backoff stays within ours, so a receiver that is back is seen
        # at our next attempt.
        options = [
            ("grpc.initial_reconnect_backoff_ms", max(1, int(self._backoff.initial * 1000))),
            ("grpc.min_reconnect_backoff_ms", max(1, int(self._backoff.initial * 1000))),
            ("grpc.max_reconnect_backoff_ms", max(1, int(self._backoff.cap * 1000))),
        ]
        if self._credentials is not None:
            return grpc.secure_channel(self.endpoint, self._credentials, options=options)
        return grpc.insecure_channel(self.endpoint, options=options)

    def _run(self) -> None:
        with self._channel() as channel:
            stub = capabilities_pb2_grpc.CapabilityReceiverStub(channel)
            published: Published | None = None
            while not self._stop.is_set():
                try:
                    published = self._broadcaster.current()
                    request = capabilities_pb2.ReportCapabilitiesRequest(
                        capabilities=message(published)
                    )
                    stub.ReportCapabilities(request, timeout=self._timeout)
                except Exception as exc:
                    self._failed(exc)
                    self._stop.wait(self._backoff.delay(self.failures))
                    continue
                self._succeeded(published)
                published = self._broadcaster.wait(
                    published.generation, self._interval, self._stop.is_set
                )
                if published is None:
                    break

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.failures == 1:
            detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
            code = exc.code().name if isinstance(exc, grpc.RpcError) else type(exc).__name__
            log.warning("upstream down", endpoint=self.endpoint, code=code, error=detail)

    def _succeeded(self, published: Published) -> None:
        if self.failures or not self.reports:
            log.info(
                "upstream up",
                endpoint=self.endpoint,
                generation=published.generation,
                failed_attempts=self.failures,
            )
        self.failures = 0
        self.reports += 1


class UpstreamReporter:
    """Every configured endpoint's reporter, started and stopped together."""

    def __init__(
        self,
        endpoints: Sequence[str],
        broadcaster: Broadcaster,
        interval: float,
        *,
        credentials: Any = None,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.reporters = [
            EndpointReporter(
                endpoint, broadcaster, interval, credentials=credentials, backoff=backoff
            )
            for endpoint in endpoints
        ]

    @classmethod
    def from_config(cls, config: UpstreamConfig, broadcaster: Broadcaster) -> UpstreamReporter:
        return cls(
            config.endpoints,
            broadcaster,
            config.interval_seconds,
            credentials=channel_credentials(config),
        )

    def start(self) -> None:
        for reporter in self.reporters:
            reporter.start()

    def stop(self) -> None:
        for reporter in self.reporters:
            reporter.stop()
