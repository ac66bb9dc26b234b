"""cohort.v1.Groups: generic volume groups (the manager with cg=False)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon import convert
from cohort.daemon.servicers._common import Members, optional
from cohort.v1 import groups_pb2 as pb
from cohort.v1 import groups_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager


class GroupsServicer(groups_pb2_grpc.GroupsServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager
        self._members = Members(manager)

    def CreateGroup(self, request: pb.CreateGroupRequest, context: Any) -> pb.Group:
        created = self._m.create_group(
            request.name, request.description, request.group_type, list(request.volume_types)
        )
        return self._members.group(created, convert.group)

    def CreateGroupFromSource(
        self, request: pb.CreateGroupFromSourceRequest, context: Any
    ) -> pb.Group:
        created = self._m.create_group_from_source(
            request.name,
            request.description,
            group_snapshot=request.group_snapshot_id,
            source_group=request.source_group_id,
        )
        return self._members.group(created, convert.group)

    def UpdateGroup(self, request: pb.UpdateGroupRequest, context: Any) -> pb.Group:
        updated = self._m.update_group(
            request.group_id,
            name=optional(request, "name"),
            description=optional(request, "description"),
            add_volume_ids=list(request.add_volume_ids),
            remove_volume_ids=list(request.remove_volume_ids),
        )
        return self._members.group(updated, convert.group)

    def DeleteGroup(self, request: pb.DeleteGroupRequest, context: Any) -> pb.DeleteGroupResponse:
        self._m.delete_group(request.group_id, delete_volumes=request.delete_volumes)
        return pb.DeleteGroupResponse()

    def GetGroup(self, request: pb.GetGroupRequest, context: Any) -> pb.Group:
        return self._members.group(self._m.get_group(request.group_id), convert.group)

    def ListGroups(self, request: pb.ListGroupsRequest, context: Any) -> pb.ListGroupsResponse:
        page = self._m.list_groups(
            request.page_size, request.page_token, convert.group_status_filter(request.status)
        )
        return pb.ListGroupsResponse(**self._members.group_page("groups", page, convert.group))
