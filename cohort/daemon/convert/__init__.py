"""Translation between protobuf messages and domain records; no rules, only shapes."""

from cohort.daemon.convert.capabilities import host_capabilities
from cohort.daemon.convert.enums import (
    freeze_path,
    group_status,
    group_status_filter,
    snapshot_status,
    snapshot_status_filter,
    volume_status,
    volume_status_filter,
)
from cohort.daemon.convert.records import (
    cgsnapshot,
    consistency_group,
    group,
    group_snapshot,
    group_type,
    group_type_fields,
    snapshot,
    snapshot_fields,
    timestamp,
    volume,
    volume_fields,
    volume_type,
    volume_type_fields,
)

__all__ = [
    "cgsnapshot",
    "consistency_group",
    "freeze_path",
    "group",
    "group_snapshot",
    "group_status",
    "group_status_filter",
    "group_type",
    "group_type_fields",
    "host_capabilities",
    "snapshot",
    "snapshot_fields",
    "snapshot_status",
    "snapshot_status_filter",
    "timestamp",
    "volume",
    "volume_fields",
    "volume_status",
    "volume_status_filter",
    "volume_type",
    "volume_type_fields",
]
