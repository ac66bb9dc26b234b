"""cohort.v1.ConsistencyGroups: the legacy CG API, the same manager methods with cg=True."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon import convert
from cohort.daemon.servicers._common import Members, optional
from cohort.v1 import consistency_groups_pb2 as pb
from cohort.v1 import consistency_groups_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager


class ConsistencyGroupsServicer(consistency_groups_pb2_grpc.ConsistencyGroupsServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager
        self._members = Members(manager)

    def CreateConsistencyGroup(
        self, request: pb.CreateConsistencyGroupRequest, context: Any
    ) -> pb.ConsistencyGroup:
        created = self._m.create_group(
            request.name, request.description, "", list(request.volume_types), cg=True
        )
        return self._members.group(created, convert.consistency_group)

    def CreateConsistencyGroupFromSource(
        self, request: pb.CreateConsistencyGroupFromSourceRequest, context: Any
    ) -> pb.ConsistencyGroup:
        created = self._m.create_group_from_source(
            request.name,
            request.description,
            group_snapshot=request.cgsnapshot_id,
            source_group=request.consistencygroup_id,
            cg=True,
        )
        return self._members.group(created, convert.consistency_group)

    def UpdateConsistencyGroup(
        self, request: pb.UpdateConsistencyGroupRequest, context: Any
    ) -> pb.ConsistencyGroup:
        updated = self._m.update_group(
            request.consistencygroup_id,
            name=optional(request, "name"),
            description=optional(request, "description"),
            add_volume_ids=list(request.add_volume_ids),
            remove_volume_ids=list(request.remove_volume_ids),
            cg=True,
        )
        return self._members.group(updated, convert.consistency_group)

    def DeleteConsistencyGroup(
        self, request: pb.DeleteConsistencyGroupRequest, context: Any
    ) -> pb.DeleteConsistencyGroupResponse:
        self._m.delete_group(
            request.consistencygroup_id, delete_volumes=request.delete_volumes, cg=True
        )
        return pb.DeleteConsistencyGroupResponse()

    def GetConsistencyGroup(
        self, request: pb.GetConsistencyGroupRequest, context: Any
    ) -> pb.ConsistencyGroup:
        found = self._m.get_group(request.consistencygroup_id, cg=True)
        return self._members.group(found, convert.consistency_group)

    def ListConsistencyGroups(
        self, request: pb.ListConsistencyGroupsRequest, context: Any
    ) -> pb.ListConsistencyGroupsResponse:
        page = self._m.list_groups(
            request.page_size,
            request.page_token,
            convert.group_status_filter(request.status),
            cg=True,
        )
        fields = self._members.group_page("consistencygroups", page, convert.consistency_group)
        return pb.ListConsistencyGroupsResponse(**fields)

    def CreateCgsnapshot(self, request: pb.CreateCgsnapshotRequest, context: Any) -> pb.Cgsnapshot:
        created = self._m.create_group_snapshot(
            request.consistencygroup_id, request.name, request.description, cg=True
        )
        return self._members.group_snapshot(created, convert.cgsnapshot)

    def DeleteCgsnapshot(
        self, request: pb.DeleteCgsnapshotRequest, context: Any
    ) -> pb.DeleteCgsnapshotResponse:
        self._m.delete_group_snapshot(request.cgsnapshot_id, cg=True)
        return pb.DeleteCgsnapshotResponse()

    def GetCgsnapshot(self, request: pb.GetCgsnapshotRequest, context: Any) -> pb.Cgsnapshot:
        found = self._m.get_group_snapshot(request.cgsnapshot_id, cg=True)
        return self._members.group_snapshot(found, convert.cgsnapshot)

    def ListCgsnapshots(
        self, request: pb.ListCgsnapshotsRequest, context: Any
    ) -> pb.ListCgsnapshotsResponse:
        page = self._m.list_group_snapshots(
            request.page_size,
            request.page_token,
            convert.snapshot_status_filter(request.status),
            group=request.consistencygroup_id,
            cg=True,
        )
        fields = self._members.group_snapshot_page("cgsnapshots", page, convert.cgsnapshot)
        return pb.ListCgsnapshotsResponse(**fields)
