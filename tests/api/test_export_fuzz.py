"""Malformed requests to the Exports service, generated: random strings (control characters,
very long ones, ids of the wrong form or case, ids of nothing, ids of the other kind), random
initiators and attachment ids, unset connectors. Every answer is OK or a client's code, never
INTERNAL or UNKNOWN; a refused call leaves the store and the target as they were; the store and
the target always agree."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.v1 import exports_pb2 as e_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.answers import answer
from tests.api.scenario import MIB, code_of, types
from tests.exported import INITIATORS, export_problems, memory_targets
from tests.inprocess import Daemon

CODE = grpc.StatusCode
#: What a malformed request may be answered with (UNAVAILABLE: busy, which needs a second caller).
REFUSALS = {
    CODE.INVALID_ARGUMENT,
    CODE.NOT_FOUND,
    CODE.FAILED_PRECONDITION,
    CODE.ALREADY_EXISTS,
    CODE.UNAVAILABLE,
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, str, str]]:
    """One daemon for every example, with a volume and a snapshot of it to aim at."""
    d = Daemon(tmp_path_factory.mktemp("fuzz") / "cohortd.sock")
    try:
        types(d)
        request = v_pb.CreateVolumeRequest(name="v", size_bytes=8 * MIB, volume_type="plain")
        vol = d.volumes.CreateVolume(request).id
        snap = d.snapshots.CreateSnapshot(s_pb.CreateSnapshotRequest(volume_id=vol, name="s")).id
        yield d, vol, snap
    finally:
        d.stop()


# protobuf strings are UTF-8: every code point but the surrogates.
_chars = st.characters(exclude_categories=["Cs"])
texts = st.one_of(
    st.text(_chars, max_size=40),
    st.text(st.characters(max_codepoint=0x1F), max_size=8),  # control characters
    st.integers(256, 5000).map(lambda n: "x" * n),
)
bad_initiators = st.one_of(
    texts,
    texts.map(lambda t: f"iqn.1994-05.com.example:{t}"),
    texts.map(lambda t: f"IQN.1994-05.com.example:{t}"),
)
FIELDS = ("object_id", "initiator", "host", "ip", "attachment_id", "connector", "page")


@st.composite
def calls(draw: st.DrawFn, vol: str, snap: str) -> tuple[str, Any]:
    """One RPC with at most one field malformed (so that the others pass and the malformed one
    is the one checked), or none."""
    rpc = draw(st.sampled_from(["ExportVolume", "ExportSnapshot", "Unexport", "ListExports"]))
    bad = draw(st.sampled_from((*FIELDS, "")))

    def field(name: str, good: st.SearchStrategy[Any], malformed: st.SearchStrategy[Any]) -> Any:
        return draw(malformed if bad == name else good)

    object_id = field(
        "object_id",
        st.one_of(st.sampled_from([vol, snap]), st.uuids().map(str)),
        st.one_of(
            st.sampled_from([vol.upper(), snap.replace("-", ""), ""]),
            st.uuids().map(lambda u: str(u).upper()),
            texts,
        ),
    )
    initiator = field("initiator", st.sampled_from(INITIATORS), bad_initiators)
    if rpc == "ListExports":
        return rpc, e_pb.ListExportsRequest(
            page_size=field("page", st.integers(0, 5), st.integers(-(2**31), 2**31 - 1)),
            page_token=field("page", st.just(""), texts),
            object_id=draw(st.sampled_from(["", object_id])),
            initiator=draw(st.sampled_from(["", initiator])),
        )
    fields: dict[str, Any] = {
        "attachment_id": field("attachment_id", st.sampled_from(["", "att-1", "att-2"]), texts)
    }
    has_connector = rpc != "Unexport" or draw(st.booleans())
    if bad == "connector":  # an export needs one, and so does an unexport's attachment id
        has_connector = False
        fields["attachment_id"] = fields["attachment_id"] or "att-1"
    if has_connector:
        fields["connector"] = e_pb.Connector(
            initiator=initiator,
            host=field("host", st.sampled_from(["", "host-a"]), texts),
            ip=field("ip", st.sampled_from(["", "127.0.0.1"]), texts),
            multipath=draw(st.booleans()),
        )
    if rpc == "ExportVolume":
        return rpc, e_pb.ExportVolumeRequest(volume_id=object_id, **fields)
    if rpc == "ExportSnapshot":
        return rpc, e_pb.ExportSnapshotRequest(snapshot_id=object_id, **fields)
    return rpc, e_pb.UnexportRequest(object_id=object_id, **fields)


def state(d: Daemon) -> tuple[object, ...]:
    with d.store.transaction(readonly=True) as tx:
        exports = sorted((e.id, e.object_id) for e in tx.exports.find())
        accesses = sorted(
            (a.id, a.initiator, a.state, tuple(a.attachments)) for a in tx.accesses.find()
        )
        volume = [(v.id, v.status) for v in tx.volumes.find()]
    return exports, accesses, volume, dict(memory_targets(d.manager).targets)


def test_malformed_export_requests(daemon: tuple[Daemon, str, str]) -> None:
    d, vol, snap = daemon
    seen: Counter[grpc.StatusCode] = Counter()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(calls(vol, snap))
    def check(call: tuple[str, Any]) -> None:
        rpc, request = call
        before = state(d)
        got = answer(lambda: getattr(d.exports, rpc)(request, timeout=10))
        seen[got.code] += 1
        assert got.ok or got.code in REFUSALS, f"{rpc}({request!r:.300}) -> {got}"
        if not got.ok:
            assert state(d) == before, f"{rpc} refused ({got}) but changed something"
        assert export_problems(d.manager) == []

    check()
    # The calls got past validation too (the malformed field was the one refused).
    assert {CODE.OK, CODE.NOT_FOUND, CODE.INVALID_ARGUMENT} <= seen.keys(), seen
    # Ids of nothing, of the wrong case, and of the other kind are told apart.
    nothing = str(uuid.uuid4())
    assert code_of(d.exports.Unexport, e_pb.UnexportRequest(object_id=nothing)) is CODE.NOT_FOUND
    upper = e_pb.UnexportRequest(object_id=nothing.upper())
    assert code_of(d.exports.Unexport, upper) is CODE.INVALID_ARGUMENT
    host = e_pb.Connector(initiator=INITIATORS[0])
    other_kind = e_pb.ExportSnapshotRequest(snapshot_id=vol, connector=host)
    assert code_of(d.exports.ExportSnapshot, other_kind) is CODE.NOT_FOUND
