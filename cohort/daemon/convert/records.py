"""Domain records -> protobuf messages. Member lists (volume_ids, snapshot_ids) are passed in:
the servicers fetch them in one call per page from the manager. The `*_fields` functions give a
message's fields as keyword arguments, for list responses that add each item in place (a
message built first is copied when it is put into a list)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from cohort.daemon.convert.enums import freeze_path, group_status, snapshot_status, volume_status
from cohort.domain import model
from cohort.v1 import (
    consistency_groups_pb2,
    group_snapshots_pb2,
    groups_pb2,
    snapshots_pb2,
    types_pb2,
    volumes_pb2,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(value: datetime) -> Any:
    """A Timestamp's fields as a dict; naive datetimes (as SQLite returns them) are UTC.
    Messages are built with their timestamps as such dicts: a message copies a Timestamp
    passed to it, which costs several times more than building one from its fields. (Any:
    protobuf takes a dict for a message field, which its type stubs do not say.)"""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return {"seconds": delta.days * 86400 + delta.seconds, "nanos": delta.microseconds * 1000}


def timestamp(value: datetime) -> Timestamp:
    return Timestamp(**_time(value))


def _freeze(record: model.FreezeRecord | None) -> dict[str, Any]:
    """The `freeze` field of a group's or group snapshot's message (none: left unset), as a
    dict the message builds its Freeze from."""
    if record is None:
        return {}
    stalls = [{"volume_id": v, "stall_seconds": s} for v, s in record.stalls.items()]
    return {
        "freeze": {
            "path": freeze_path(record.path),
            "window_seconds": record.window_seconds,
            "stalls": stalls,
        }
    }


def volume_type_fields(vt: model.VolumeType) -> dict[str, Any]:
    return dict(
        id=vt.id,
        name=vt.name,
        description=vt.description,
        extra_specs=vt.extra_specs,
        created_at=_time(vt.created_at),
    )


def volume_type(vt: model.VolumeType) -> types_pb2.VolumeType:
    return types_pb2.VolumeType(**volume_type_fields(vt))


def group_type_fields(gt: model.GroupType) -> dict[str, Any]:
    return dict(
        id=gt.id,
        name=gt.name,
        description=gt.description,
        group_specs=gt.group_specs,
        reserved=gt.reserved,
        created_at=_time(gt.created_at),
    )


def group_type(gt: model.GroupType) -> types_pb2.GroupType:
    return types_pb2.GroupType(**group_type_fields(gt))


def volume_fields(v: model.Volume) -> dict[str, Any]:
    fields = {
        "id": v.id,
        "name": v.name,
        "size_bytes": v.size_bytes,
        "volume_type_id": v.volume_type_id,
        "status": volume_status(v.status),
        "created_at": _time(v.created_at),
        "updated_at": _time(v.updated_at),
    }
    # An unset proto3 string is the empty string: leaving empty ones out saves protobuf the
    # work of setting them (pages of volumes are the hottest path).
    if v.description:
        fields["description"] = v.description
    if v.group_id:
        fields["group_id"] = v.group_id
    if v.source_volume_id:
        fields["source_volume_id"] = v.source_volume_id
    if v.source_snapshot_id:
        fields["source_snapshot_id"] = v.source_snapshot_id
    if v.device_path:
        fields["device_path"] = v.device_path
    return fields


def volume(v: model.Volume) -> volumes_pb2.Volume:
    return volumes_pb2.Volume(**volume_fields(v))


def snapshot_fields(s: model.Snapshot) -> dict[str, Any]:
    return dict(
        id=s.id,
        name=s.name,
        description=s.description,
        volume_id=s.volume_id,
        size_bytes=s.size_bytes,
        status=snapshot_status(s.status),
        group_snapshot_id=s.group_snapshot_id or "",
        created_at=_time(s.created_at),
    )


def snapshot(s: model.Snapshot) -> snapshots_pb2.Snapshot:
    return snapshots_pb2.Snapshot(**snapshot_fields(s))


def group(g: model.Group, volume_ids: Sequence[str]) -> groups_pb2.Group:
    return groups_pb2.Group(
        id=g.id,
        name=g.name,
        description=g.description,
        group_type_id=g.group_type_id,
        volume_type_ids=g.volume_type_ids,
        status=group_status(g.status),
        source_group_id=g.source_group_id or "",
        group_snapshot_id=g.group_snapshot_id or "",
        volume_ids=volume_ids,
        consistent_group_snapshot_enabled=g.consistent,
        created_at=_time(g.created_at),
        updated_at=_time(g.updated_at),
        **_freeze(g.freeze),
    )


def consistency_group(
    g: model.Group, volume_ids: Sequence[str]
) -> consistency_groups_pb2.ConsistencyGroup:
    return consistency_groups_pb2.ConsistencyGroup(
        id=g.id,
        name=g.name,
        description=g.description,
        volume_type_ids=g.volume_type_ids,
        status=group_status(g.status),
        source_cgid=g.source_group_id or "",
        cgsnapshot_id=g.group_snapshot_id or "",
        volume_ids=volume_ids,
        created_at=_time(g.created_at),
        **_freeze(g.freeze),
    )


def group_snapshot(
    gs: model.GroupSnapshot, snapshot_ids: Sequence[str]
) -> group_snapshots_pb2.GroupSnapshot:
    return group_snapshots_pb2.GroupSnapshot(
        id=gs.id,
        name=gs.name,
        description=gs.description,
        group_id=gs.group_id,
        group_type_id=gs.group_type_id,
        status=snapshot_status(gs.status),
        snapshot_ids=snapshot_ids,
        created_at=_time(gs.created_at),
        **_freeze(gs.freeze),
    )


def cgsnapshot(
    gs: model.GroupSnapshot, snapshot_ids: Sequence[str]
) -> consistency_groups_pb2.Cgsnapshot:
    return consistency_groups_pb2.Cgsnapshot(
        id=gs.id,
        name=gs.name,
        description=gs.description,
        consistencygroup_id=gs.group_id,
        status=snapshot_status(gs.status),
        snapshot_ids=snapshot_ids,
        created_at=_time(gs.created_at),
        **_freeze(gs.freeze),
    )
