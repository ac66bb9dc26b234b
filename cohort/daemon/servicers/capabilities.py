"""cohort.v1.Capabilities: the broadcaster's current view, once or as a stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from cohort.daemon import convert
from cohort.daemon.broadcaster import Broadcaster, Published
from cohort.v1 import capabilities_pb2 as pb
from cohort.v1 import capabilities_pb2_grpc


def message(published: Published) -> pb.HostCapabilities:
    return convert.host_capabilities(
        published.capabilities, published.generation, published.updated_at
    )


class CapabilitiesServicer(capabilities_pb2_grpc.CapabilitiesServicer):
    def __init__(self, broadcaster: Broadcaster, interval: float) -> None:
        self._broadcaster = broadcaster
        self._interval = interval

    def GetCapabilities(
        self, request: pb.GetCapabilitiesRequest, context: Any
    ) -> pb.HostCapabilities:
        return message(self._broadcaster.current())

    def WatchCapabilities(
        self, request: pb.WatchCapabilitiesRequest, context: Any
    ) -> Iterator[pb.HostCapabilities]:
        """At once, then on every change and at least every interval; ends when the client goes
        away (the RPC's done-callback wakes the wait) or the broadcaster closes."""
        gone = threading.Event()

        def done() -> None:
            gone.set()
            self._broadcaster.wake()

        context.add_callback(done)
        published: Published | None = self._broadcaster.current()
        while published is not None and not gone.is_set():
            yield message(published)
            published = self._broadcaster.wait(published.generation, self._interval, gone.is_set)
