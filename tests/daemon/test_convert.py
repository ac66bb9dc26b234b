"""Protobuf <-> domain translation."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cohort.daemon import convert
from cohort.domain.backend import PoolStats
from cohort.domain.capabilities import Capabilities, CapabilityPolicy, PoolCapabilities, derive
from cohort.domain.model import (
    FreezePath,
    FreezeRecord,
    Group,
    GroupSnapshot,
    GroupStatus,
    SnapshotStatus,
    Volume,
    VolumeStatus,
)
from cohort.errors import InvalidArgument
from cohort.v1 import capabilities_pb2, common_pb2

CASES = [
    (VolumeStatus, common_pb2.VolumeStatus, "VOLUME_STATUS_", convert.volume_status,
     convert.volume_status_filter),
    (GroupStatus, common_pb2.GroupStatus, "GROUP_STATUS_", convert.group_status,
     convert.group_status_filter),
    (SnapshotStatus, common_pb2.SnapshotStatus, "SNAPSHOT_STATUS_", convert.snapshot_status,
     convert.snapshot_status_filter),
]  # fmt: skip


@pytest.mark.parametrize(("domain", "proto", "prefix", "to_proto", "to_domain"), CASES)
def test_statuses_round_trip(
    domain: Any, proto: Any, prefix: str, to_proto: Any, to_domain: Any
) -> None:
    # Every proto value but UNSPECIFIED has a domain member, and back.
    assert len(proto.keys()) == len(domain) + 1
    for member in domain:
        value = to_proto(member)
        assert proto.Name(value) == prefix + member.name
        assert to_domain(value) is member
    assert to_domain(0) is None  # UNSPECIFIED: any
    with pytest.raises(InvalidArgument):
        to_domain(max(proto.values()) + 1)


def test_in_use_maps_by_name() -> None:
    assert VolumeStatus.IN_USE.value == "in-use"
    assert convert.volume_status(VolumeStatus.IN_USE) == common_pb2.VOLUME_STATUS_IN_USE


def test_naive_timestamps_are_utc() -> None:
    aware = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    assert convert.timestamp(aware.replace(tzinfo=None)) == convert.timestamp(aware)
    assert convert.timestamp(aware).ToDatetime(tzinfo=UTC) == aware


@pytest.mark.parametrize(
    "when",
    [
        datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2024, 5, 6, 9, 8, 9, 1, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_timestamps_are_protobufs_own(when: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(when)
    assert convert.timestamp(when) == expected


def test_a_volume_message_carries_every_attribute() -> None:
    v = Volume(name="v", size_bytes=7, volume_type_id="t", status=VolumeStatus.IN_USE,
               description="d", group_id="g", source_volume_id="sv", source_snapshot_id="ss",
               device_path="/dev/x")  # fmt: skip
    msg = convert.volume(v)
    assert {f.name: getattr(msg, f.name) for f in fields(v) if not f.name.endswith("_at")} == {
        **{f.name: getattr(v, f.name) for f in fields(v) if not f.name.endswith("_at")},
        "status": common_pb2.VOLUME_STATUS_IN_USE,
    }
    assert msg.created_at.ToDatetime(tzinfo=UTC) == v.created_at
    assert msg.updated_at.ToDatetime(tzinfo=UTC) == v.updated_at


def test_optional_ids_become_empty_strings() -> None:
    msg = convert.volume(Volume(name="v", size_bytes=1, volume_type_id="t"))
    assert (msg.group_id, msg.source_volume_id, msg.source_snapshot_id) == ("", "", "")


def test_group_and_consistency_group() -> None:
    g = Group(name="g", group_type_id="gt", volume_type_ids=["a", "b"], consistent=True,
              source_group_id="src", status=GroupStatus.AVAILABLE)  # fmt: skip
    msg = convert.group(g, ["v1", "v2"])
    assert list(msg.volume_ids) == ["v1", "v2"] and msg.consistent_group_snapshot_enabled
    assert msg.source_group_id == "src" and msg.group_snapshot_id == ""
    cg = convert.consistency_group(g, ["v1"])
    assert cg.source_cgid == "src" and list(cg.volume_type_ids) == ["a", "b"]
    assert cg.status == common_pb2.GROUP_STATUS_AVAILABLE


def test_group_snapshot_and_cgsnapshot() -> None:
    gs = GroupSnapshot(name="s", group_id="g", group_type_id="gt")
    assert list(convert.group_snapshot(gs, ["a"]).snapshot_ids) == ["a"]
    cgs = convert.cgsnapshot(gs, ["a"])
    assert cgs.consistencygroup_id == "g" and cgs.status == common_pb2.SNAPSHOT_STATUS_CREATING


def test_freeze_paths_map_by_name() -> None:
    values = common_pb2.FreezePath
    assert len(values.keys()) == len(FreezePath) + 1
    for path in FreezePath:
        assert values.Name(convert.freeze_path(path)) == "FREEZE_PATH_" + path.name


def test_a_freeze_record_is_on_every_message_of_a_group_image() -> None:
    record = FreezeRecord(FreezePath.FREEZE, 0.125, {"v2": 0.1, "v1": 0.025})
    expected = common_pb2.Freeze(
        path=common_pb2.FREEZE_PATH_FREEZE,
        window_seconds=0.125,
        stalls=[
            common_pb2.GateStall(volume_id="v2", stall_seconds=0.1),  # the backend's order
            common_pb2.GateStall(volume_id="v1", stall_seconds=0.025),
        ],
    )
    g = Group(name="g", group_type_id="gt", volume_type_ids=["a"], freeze=record)
    gs = GroupSnapshot(name="s", group_id="g", group_type_id="gt", freeze=record)
    messages: list[Any] = [
        convert.group(g, []),
        convert.consistency_group(g, []),
        convert.group_snapshot(gs, []),
        convert.cgsnapshot(gs, []),
    ]
    for msg in messages:
        assert msg.freeze == expected
    g.freeze = gs.freeze = None
    for msg in (convert.group(g, []), convert.group_snapshot(gs, [])):
        assert not msg.HasField("freeze")


def test_capabilities_carry_every_field() -> None:
    stats = PoolStats("pool", 10, 4, 6, 2, data_percent=12.5, location_info="here")
    caps = derive(stats, CapabilityPolicy(reserved_percentage=5), "host")
    when = datetime(2024, 1, 1, tzinfo=UTC)
    msg = convert.host_capabilities(caps, 7, when)
    assert msg.generation == 7 and msg.updated_at.ToDatetime(tzinfo=UTC) == when
    for f in fields(Capabilities):
        if f.name != "pools":
            assert getattr(msg, f.name) == getattr(caps, f.name), f.name
    for f in fields(PoolCapabilities):
        assert getattr(msg.pools[0], f.name) == getattr(caps.pools[0], f.name), f.name
    # ...and the proto has no field the dataclasses lack (except the broadcaster's own).
    host_fields = set(capabilities_pb2.HostCapabilities.DESCRIPTOR.fields_by_name)
    assert host_fields - {f.name for f in fields(Capabilities)} == {"generation", "updated_at"}
    pool_fields = set(capabilities_pb2.PoolCapabilities.DESCRIPTOR.fields_by_name)
    assert pool_fields == {f.name for f in fields(PoolCapabilities)}
