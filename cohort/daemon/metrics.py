"""Prometheus collectors of the gRPC layer and of the freezes, and the HTTP endpoint that
exposes them."""

from __future__ import annotations

from typing import Any

import prometheus_client

from cohort.daemon.config import split_host_port
from cohort.domain.model import FreezePath
from cohort.manager.freezes import FreezeReport

REQUESTS = prometheus_client.Counter(
    "cohort_grpc_requests",
    "gRPC requests handled, by method and status code.",
    ["method", "code"],
)
LATENCY = prometheus_client.Histogram(
    "cohort_grpc_request_duration_seconds",
    "Time to handle a gRPC request (streams: until the stream ends), by method.",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
#: From a few milliseconds (the ioctls alone) to the largest deadline [freeze] allows.
_FREEZE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
FREEZES = prometheus_client.Counter(
    "cohort_freezes",
    "Images of groups taken (group snapshots, clones of groups), by operation, path "
    "(freeze or plain) and outcome (committed or failed).",
    ["operation", "path", "outcome"],
)
FREEZE_WINDOW = prometheus_client.Histogram(
    "cohort_freeze_window_seconds",
    "Freeze window: from the first gate suspended to the last resumed (freeze path only).",
    ["operation"],
    buckets=_FREEZE_BUCKETS,
)
GATE_STALL = prometheus_client.Histogram(
    "cohort_gate_stall_seconds",
    "How long each member's gate was suspended in a freeze (one observation per gate).",
    ["operation"],
    buckets=_FREEZE_BUCKETS,
)


#: The labelled children, looked up once per (method, code): the lookup costs more than the count.
_CHILDREN: dict[tuple[str, str], tuple[Any, Any]] = {}


def observe(method: str, code: str, seconds: float) -> None:
    children = _CHILDREN.get((method, code))
    if children is None:
        children = (REQUESTS.labels(method=method, code=code), LATENCY.labels(method=method))
        _CHILDREN[(method, code)] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_freeze(report: FreezeReport) -> None:
    """A manager's freeze observer (cohort.manager.core.Core.observe_freezes)."""
    record, operation = report.record, report.operation
    outcome = "failed" if report.failed else "committed"
    FREEZES.labels(operation=operation, path=record.path.value, outcome=outcome).inc()
    if record.path is FreezePath.FREEZE:
        FREEZE_WINDOW.labels(operation=operation).observe(record.window_seconds)
        stall = GATE_STALL.labels(operation=operation)
        for seconds in record.stalls.values():
            stall.observe(seconds)


class MetricsServer:
    """The /metrics HTTP server on `address` ("host:port"; port 0 picks a free one)."""

    def __init__(self, address: str) -> None:
        host, port = split_host_port(address)
        self._httpd: Any
        self._thread: Any
        self._httpd, self._thread = prometheus_client.start_http_server(port, addr=host)
        self.port: int = self._httpd.server_port

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
