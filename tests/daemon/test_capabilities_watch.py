"""The capability broadcaster and WatchCapabilities: at once, on change, periodically; the
stream ends when the client goes away or the server stops."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import grpc
import pytest

from cohort.daemon import metrics
from cohort.daemon.broadcaster import Broadcaster
from cohort.domain.backend import PoolStats
from cohort.domain.capabilities import Capabilities, CapabilityPolicy, derive
from cohort.v1 import capabilities_pb2, types_pb2, volumes_pb2

from .conftest import GIB, Serve, wait_for

WATCH = capabilities_pb2.WatchCapabilitiesRequest()
WATCH_METHOD = "/cohort.v1.Capabilities/WatchCapabilities"


def caps(volumes: int) -> Capabilities:
    return derive(PoolStats("p", GIB, GIB, 0, volumes), CapabilityPolicy(), "h")


class Source:
    def __init__(self) -> None:
        self.value = caps(0)
        self.calls = 0
        self.fail = False

    def __call__(self) -> Capabilities:
        self.calls += 1
        if self.fail:
            raise RuntimeError("backend down")
        return self.value


def test_generation_counts_changes_of_content() -> None:
    source = Source()
    b = Broadcaster(source)
    first = b.current()
    assert first.generation == 1
    assert b.current() is first and source.calls == 1  # not stale: not recomputed
    b.notify()
    assert b.current() is first and source.calls == 2  # recomputed, same content
    source.value = caps(1)
    b.notify()
    second = b.current()
    assert second.generation == 2 and second.capabilities == caps(1)
    assert second.updated_at >= first.updated_at


def test_wait_wakes_on_change_and_times_out_with_a_refresh() -> None:
    source = Source()
    b = Broadcaster(source)
    seen = b.current().generation
    got: list[int] = []

    def waiter() -> None:
        published = b.wait(seen, timeout=30)
        assert published is not None
        got.append(published.generation)

    thread = threading.Thread(target=waiter)
    thread.start()
    b.notify()  # no change of content: the waiter keeps waiting
    source.value = caps(3)
    b.notify()
    thread.join(5)
    assert got == [seen + 1]

    source.value = replace(source.value, host="other")  # seen only by a refresh
    published = b.wait(seen + 1, timeout=0.01)
    assert published is not None and published.capabilities.host == "other"


def test_wait_returns_none_when_closed_or_stopped() -> None:
    b = Broadcaster(Source())
    seen = b.current().generation
    stop = threading.Event()
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(b.wait(seen, 30, stop.is_set)))
    thread.start()
    stop.set()
    b.wake()
    thread.join(5)
    assert results == [None]
    b.close()
    assert b.wait(seen, 30) is None


def test_a_failing_source_is_retried() -> None:
    source = Source()
    b = Broadcaster(source)
    b.current()
    source.value = caps(9)
    source.fail = True
    b.notify()
    with pytest.raises(RuntimeError):
        b.current()
    source.fail = False
    assert b.current().capabilities == caps(9)  # still stale after the failure


def test_watch_sends_at_once_then_on_change(serve: Serve) -> None:
    d = serve(interval=30)
    stream = d.api.capabilities.WatchCapabilities(WATCH)
    first = next(stream)
    assert first.pools[0].total_volumes == 0
    d.api.types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="default"))
    d.api.volumes.CreateVolume(volumes_pb2.CreateVolumeRequest(name="v", size_bytes=GIB))
    update = next(stream)
    assert update.generation > first.generation
    assert update.pools[0].total_volumes == 1
    assert update.pools[0].provisioned_capacity_bytes >= GIB
    stream.cancel()


def test_watch_resends_every_interval(serve: Serve) -> None:
    d = serve(interval=0.05)
    stream = d.api.capabilities.WatchCapabilities(WATCH)
    messages = [next(stream) for _ in range(3)]  # no change happens: the interval resends
    assert {m.generation for m in messages} == {messages[0].generation}
    stream.cancel()


def test_watch_ends_when_the_client_goes_away(serve: Serve) -> None:
    d = serve(interval=30)
    cancelled = metrics.REQUESTS.labels(method=WATCH_METHOD, code="CANCELLED")
    before = cancelled._value.get()
    stream = d.api.capabilities.WatchCapabilities(WATCH)
    next(stream)
    stream.cancel()
    # The handler returned (and was counted) although no change and no interval came.
    assert wait_for(lambda: cancelled._value.get() == before + 1)


def test_watch_ends_when_the_server_stops(serve: Serve) -> None:
    d = serve(interval=30)
    stream = d.api.capabilities.WatchCapabilities(WATCH)
    next(stream)
    start = time.monotonic()
    d.server.stop(5)
    assert time.monotonic() - start < 2  # the stream did not hold the grace period
    try:
        for _ in stream:
            pass
    except grpc.RpcError as exc:
        assert exc.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
