"""Statuses: domain StrEnum members ("in-use") <-> proto enum values (VOLUME_STATUS_IN_USE); a
freeze record's path likewise (FREEZE_PATH_FREEZE).

The proto value names are the domain member names behind a prefix, so the mapping is by name and
a status added on one side only fails loudly (KeyError / ValueError) in the tests.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from google.protobuf.descriptor import EnumDescriptor

from cohort.domain.model import FreezePath, GroupStatus, SnapshotStatus, VolumeStatus
from cohort.errors import InvalidArgument
from cohort.v1 import common_pb2

E = TypeVar("E", bound=StrEnum)


def _to_proto(enum: EnumDescriptor, prefix: str, cls: type[E]) -> dict[E, int]:
    """Each member's proto number, looked up once: a status is converted for every row read."""
    return {member: enum.values_by_name[prefix + member.name].number for member in cls}


def _filter(enum: EnumDescriptor, prefix: str, cls: type[E], value: int) -> E | None:
    """UNSPECIFIED (0) means "any status": None."""
    if value == 0:
        return None
    described = enum.values_by_number.get(value)
    if described is None:
        raise InvalidArgument(f"unknown {enum.name} {value}")
    return cls[described.name.removeprefix(prefix)]


_VOLUME_STATUSES = _to_proto(common_pb2.VolumeStatus.DESCRIPTOR, "VOLUME_STATUS_", VolumeStatus)
_GROUP_STATUSES = _to_proto(common_pb2.GroupStatus.DESCRIPTOR, "GROUP_STATUS_", GroupStatus)
_SNAPSHOT_STATUSES = _to_proto(
    common_pb2.SnapshotStatus.DESCRIPTOR, "SNAPSHOT_STATUS_", SnapshotStatus
)

_FREEZE_PATHS = _to_proto(common_pb2.FreezePath.DESCRIPTOR, "FREEZE_PATH_", FreezePath)


def freeze_path(path: FreezePath) -> common_pb2.FreezePath.ValueType:
    return common_pb2.FreezePath.ValueType(_FREEZE_PATHS[path])


def volume_status(status: VolumeStatus) -> common_pb2.VolumeStatus.ValueType:
    return common_pb2.VolumeStatus.ValueType(_VOLUME_STATUSES[status])


def group_status(status: GroupStatus) -> common_pb2.GroupStatus.ValueType:
    return common_pb2.GroupStatus.ValueType(_GROUP_STATUSES[status])


def snapshot_status(status: SnapshotStatus) -> common_pb2.SnapshotStatus.ValueType:
    return common_pb2.SnapshotStatus.ValueType(_SNAPSHOT_STATUSES[status])


def volume_status_filter(value: int) -> VolumeStatus | None:
    return _filter(common_pb2.VolumeStatus.DESCRIPTOR, "VOLUME_STATUS_", VolumeStatus, value)


def group_status_filter(value: int) -> GroupStatus | None:
    return _filter(common_pb2.GroupStatus.DESCRIPTOR, "GROUP_STATUS_", GroupStatus, value)


def snapshot_status_filter(value: int) -> SnapshotStatus | None:
    return _filter(common_pb2.SnapshotStatus.DESCRIPTOR, "SNAPSHOT_STATUS_", SnapshotStatus, value)
