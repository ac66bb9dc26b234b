"""Recording fake servicers (subclasses of the generated ones) for cohortctl's tests."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health

from cohort.v1 import (
    capabilities_pb2,
    capabilities_pb2_grpc,
    consistency_groups_pb2,
    consistency_groups_pb2_grpc,
    exports_pb2,
    exports_pb2_grpc,
    group_snapshots_pb2,
    group_snapshots_pb2_grpc,
    groups_pb2,
    groups_pb2_grpc,
    snapshots_pb2,
    snapshots_pb2_grpc,
    types_pb2,
    types_pb2_grpc,
    volumes_pb2,
    volumes_pb2_grpc,
)

# (pb2 module, grpc module, service name) for every service cohortctl talks to.
SERVICES = [
    (types_pb2, types_pb2_grpc, "Types"),
    (volumes_pb2, volumes_pb2_grpc, "Volumes"),
    (snapshots_pb2, snapshots_pb2_grpc, "Snapshots"),
    (groups_pb2, groups_pb2_grpc, "Groups"),
    (group_snapshots_pb2, group_snapshots_pb2_grpc, "GroupSnapshots"),
    (consistency_groups_pb2, consistency_groups_pb2_grpc, "ConsistencyGroups"),
    (capabilities_pb2, capabilities_pb2_grpc, "Capabilities"),
    (exports_pb2, exports_pb2_grpc, "Exports"),
]

Reply: TypeAlias = Message | grpc.StatusCode | Callable[[Any], Any]

CONNECTION_INFO: dict[str, Any] = {
    "driver_volume_type": "iscsi",
    "data": {
        "target_portal": "127.0.0.1:3260",
        "target_iqn": "iqn.2026-12.org.cohort:volume-vol-1",
        "target_lun": 0,
        "auth_method": "CHAP",
        "auth_username": "user-1",
        "auth_password": "secret-1",
        "target_discovered": False,
        "access_mode": "rw",
        "volume_id": "vol-1",
    },
}
"""What the fake ExportVolume and ExportSnapshot answer (a connection info has its JSON)."""


class Backend:
    """What the fakes share: the calls they saw and the replies to give.

    A reply is a message, a status code (the call fails with it), or a function of the request
    (returning a message, or an iterator for streaming methods). Without one, a method answers
    its empty response message.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        connection = exports_pb2.Connection(connection_info_json=json.dumps(CONNECTION_INFO))
        self.replies: dict[str, Reply] = {
            "ExportVolume": connection,
            "ExportSnapshot": connection,
        }

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, empty: Any) -> Any:
        self.calls.append((method, request))
        reply = self.replies.get(method, empty)
        if isinstance(reply, grpc.StatusCode):
            context.abort(reply, f"{method} says no")
        if callable(reply) and not isinstance(reply, Message):
            return reply(request)
        return reply

    def requests(self, method: str) -> list[Any]:
        return [request for name, request in self.calls if name == method]

    def last(self, method: str) -> Any:
        found = self.requests(method)
        assert found, f"{method} was not called; calls: {[n for n, _ in self.calls]}"
        return found[-1]


def fake_servicer(pb2: Any, grpc_module: Any, service: str, backend: Backend) -> Any:
    """A subclass of the generated servicer whose every method is answered by `backend`."""
    base = getattr(grpc_module, f"{service}Servicer")
    namespace: dict[str, Any] = {}
    for method in pb2.DESCRIPTOR.services_by_name[service].methods:
        empty = GetMessageClass(method.output_type)()

        def handler(
            self: Any, request: Any, context: Any, _name: str = method.name, _empty: Any = empty
        ) -> Any:
            return backend.handle(_name, request, context, _empty)

        namespace[method.name] = handler
    return type(f"Fake{service}Servicer", (base,), namespace)()


@dataclasses.dataclass
class Server:
    endpoint: str
    backend: Backend
    health: health.HealthServicer


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]
