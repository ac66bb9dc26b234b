"""One servicer per cohort.v1 service; `register` adds them all to a grpc server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.servicers.capabilities import CapabilitiesServicer
from cohort.daemon.servicers.consistency_groups import ConsistencyGroupsServicer
from cohort.daemon.servicers.exports import ExportsServicer
from cohort.daemon.servicers.group_snapshots import GroupSnapshotsServicer
from cohort.daemon.servicers.groups import GroupsServicer
from cohort.daemon.servicers.snapshots import SnapshotsServicer
from cohort.daemon.servicers.types import TypesServicer
from cohort.daemon.servicers.volumes import VolumesServicer
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

if TYPE_CHECKING:
    from cohort.manager import Manager

#: Full names of the services cohortd serves (for health and reflection).
SERVICE_NAMES: tuple[str, ...] = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (types_pb2, "Types"),
        (volumes_pb2, "Volumes"),
        (snapshots_pb2, "Snapshots"),
        (groups_pb2, "Groups"),
        (group_snapshots_pb2, "GroupSnapshots"),
        (consistency_groups_pb2, "ConsistencyGroups"),
        (capabilities_pb2, "Capabilities"),
        (exports_pb2, "Exports"),
    )
)


def register(server: Any, manager: Manager, broadcaster: Broadcaster, interval: float) -> None:
    """Add every cohort.v1 servicer to `server`."""
    types_pb2_grpc.add_TypesServicer_to_server(TypesServicer(manager), server)
    volumes_pb2_grpc.add_VolumesServicer_to_server(VolumesServicer(manager), server)
    snapshots_pb2_grpc.add_SnapshotsServicer_to_server(SnapshotsServicer(manager), server)
    groups_pb2_grpc.add_GroupsServicer_to_server(GroupsServicer(manager), server)
    exports_pb2_grpc.add_ExportsServicer_to_server(ExportsServicer(manager), server)
    group_snapshots_pb2_grpc.add_GroupSnapshotsServicer_to_server(
        GroupSnapshotsServicer(manager), server
    )
    consistency_groups_pb2_grpc.add_ConsistencyGroupsServicer_to_server(
        ConsistencyGroupsServicer(manager), server
    )
    capabilities_pb2_grpc.add_CapabilitiesServicer_to_server(
        CapabilitiesServicer(broadcaster, interval), server
    )
