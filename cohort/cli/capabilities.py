"""Capabilities service and the standard gRPC health check."""

from __future__ import annotations

from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from cohort.cli import exitcodes
from cohort.cli.command import Command, arg, methods
from cohort.v1 import capabilities_pb2

_M = methods(capabilities_pb2.DESCRIPTOR.services_by_name["Capabilities"])
_HEALTH = methods(health_pb2.DESCRIPTOR.services_by_name["Health"])
_SERVING = health_pb2.HealthCheckResponse.SERVING


def _serving(response: Message) -> int:
    status: int = getattr(response, "status")  # noqa: B009 - Message has no typed fields
    return exitcodes.OK if status == _SERVING else exitcodes.UNAVAILABLE


COMMANDS = (
    Command("get-capabilities", "Show the host's capabilities and pools.", _M["GetCapabilities"]),
    Command(
        "watch-capabilities",
        "Print the capabilities now and on every change (JSON Lines with --json).",
        _M["WatchCapabilities"],
        (arg("--count", type=int, help="stop after N updates"),),
    ),
    Command(
        "health",
        "Check the daemon's health (exit 0 when SERVING, 9 otherwise).",
        _HEALTH["Check"],
        (arg("--service", default="", help='service name; "" is the whole daemon'),),
        check=_serving,
    ),
)
