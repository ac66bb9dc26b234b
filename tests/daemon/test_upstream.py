"""Capability reports to upstream CapabilityReceivers: at start, on change, periodically, and
again after an endpoint was down (with backoff, logging only the transitions)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from cohort.daemon.config import UpstreamConfig
from cohort.daemon.upstream import Backoff, UpstreamReporter
from cohort.v1 import capabilities_pb2, capabilities_pb2_grpc, types_pb2, volumes_pb2

from .certs import Certs
from .conftest import GIB, Daemon, Serve, free_port, wait_for

FAST = Backoff(initial=0.02, cap=0.1)


class Receiver(capabilities_pb2_grpc.CapabilityReceiverServicer):
    def __init__(self) -> None:
        self.reports: queue.Queue[capabilities_pb2.HostCapabilities] = queue.Queue()

    def ReportCapabilities(
        self, request: capabilities_pb2.ReportCapabilitiesRequest, context: Any
    ) -> capabilities_pb2.ReportCapabilitiesResponse:
        self.reports.put(request.capabilities)
        return capabilities_pb2.ReportCapabilitiesResponse()

    def next(self) -> capabilities_pb2.HostCapabilities:
        return self.reports.get(timeout=5)


StartReceiver = Callable[[int], tuple[Receiver, int]]


@pytest.fixture
def receiver_on() -> Iterator[StartReceiver]:
    servers: list[grpc.Server] = []

    def start(port: int = 0) -> tuple[Receiver, int]:
        receiver = Receiver()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        capabilities_pb2_grpc.add_CapabilityReceiverServicer_to_server(receiver, server)
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        servers.append(server)
        return receiver, bound

    yield start
    for server in servers:
        server.stop(0)


@pytest.fixture
def reporters() -> Iterator[list[UpstreamReporter]]:
    started: list[UpstreamReporter] = []
    yield started
    for reporter in started:
        reporter.stop()


def report_to(
    daemon: Daemon, port: int, started: list[UpstreamReporter], interval: float = 30
) -> UpstreamReporter:
    reporter = UpstreamReporter([f"127.0.0.1:{port}"], daemon.broadcaster, interval, backoff=FAST)
    reporter.start()
    started.append(reporter)
    return reporter


def test_reports_at_start_and_on_change(
    daemon: Daemon, receiver_on: StartReceiver, reporters: list[UpstreamReporter]
) -> None:
    receiver, port = receiver_on(0)
    report_to(daemon, port, reporters)
    first = receiver.next()
    assert first.host == "test-host" and first.pools[0].total_volumes == 0
    daemon.api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="default"))
    daemon.api.volumes.CreateVolume(volumes_pb2.CreateVolumeRequest(name="v", size_bytes=GIB))
    second = receiver.next()
    assert second.generation == first.generation + 1
    assert second.pools[0].total_volumes == 1


def test_reports_periodically(
    daemon: Daemon, receiver_on: StartReceiver, reporters: list[UpstreamReporter]
) -> None:
    receiver, port = receiver_on(0)
    report_to(daemon, port, reporters, interval=0.02)
    reports = [receiver.next() for _ in range(3)]
    assert len({r.generation for r in reports}) == 1


def test_resumes_after_the_endpoint_was_down(
    serve: Serve, receiver_on: StartReceiver, reporters: list[UpstreamReporter]
) -> None:
    daemon = serve()
    port = free_port()
    with capture_logs() as logs:
        reporter = report_to(daemon, port, reporters).reporters[0]
        assert wait_for(lambda: reporter.failures >= 3)
        receiver, _ = receiver_on(port)
        report = receiver.next()
        assert wait_for(lambda: reporter.reports == 1)
    assert report.generation == 1
    assert reporter.failures == 0
    events = [(e["event"], e.get("failed_attempts")) for e in logs if e.get("endpoint")]
    # One "down" for all the failed attempts, one "up" with their number.
    assert events[0] == ("upstream down", None)
    assert events[1][0] == "upstream up" and (events[1][1] or 0) >= 3
    assert len(events) == 2


def test_stop_is_prompt_while_backing_off(serve: Serve) -> None:
    daemon = serve()
    reporter = UpstreamReporter(
        [f"127.0.0.1:{free_port()}"], daemon.broadcaster, 30, backoff=Backoff(60, 60)
    )
    reporter.start()
    assert wait_for(lambda: reporter.reporters[0].failures == 1)
    start = time.monotonic()
    reporter.stop()
    assert time.monotonic() - start < 2


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(initial=1, cap=60)
    for failures, ceiling in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (100, 60)]:
        delays = [backoff.delay(failures) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_reports_over_mutual_tls(
    daemon: Daemon, certs: Certs, reporters: list[UpstreamReporter]
) -> None:
    receiver = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    capabilities_pb2_grpc.add_CapabilityReceiverServicer_to_server(receiver, server)
    credentials = grpc.ssl_server_credentials(
        [(certs.read("server_key"), certs.read("server_cert"))],
        root_certificates=certs.read("ca"),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        config = UpstreamConfig(
            endpoints=(f"127.0.0.1:{port}",),
            tls_ca=str(certs.ca),
            tls_cert=str(certs.client_cert),
            tls_key=str(certs.client_key),
        )
        reporter = UpstreamReporter.from_config(config, daemon.broadcaster)
        reporter.start()
        reporters.append(reporter)
        assert receiver.next().host == "test-host"
    finally:
        server.stop(0)
