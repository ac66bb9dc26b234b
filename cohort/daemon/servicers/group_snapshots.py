"""cohort.v1.GroupSnapshots: snapshots of generic groups (the manager with cg=False)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon import convert
from cohort.daemon.servicers._common import Members
from cohort.v1 import group_snapshots_pb2 as pb
from cohort.v1 import group_snapshots_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager


class GroupSnapshotsServicer(group_snapshots_pb2_grpc.GroupSnapshotsServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager
        self._members = Members(manager)

    def CreateGroupSnapshot(
        self, request: pb.CreateGroupSnapshotRequest, context: Any
    ) -> pb.GroupSnapshot:
        created = self._m.create_group_snapshot(request.group_id, request.name, request.description)
        return self._members.group_snapshot(created, convert.group_snapshot)

    def GetGroupSnapshot(
        self, request: pb.GetGroupSnapshotRequest, context: Any
    ) -> pb.GroupSnapshot:
        found = self._m.get_group_snapshot(request.group_snapshot_id)
        return self._members.group_snapshot(found, convert.group_snapshot)

    def ListGroupSnapshots(
        self, request: pb.ListGroupSnapshotsRequest, context: Any
    ) -> pb.ListGroupSnapshotsResponse:
        page = self._m.list_group_snapshots(
            request.page_size,
            request.page_token,
            convert.snapshot_status_filter(request.status),
            group=request.group_id,
        )
        fields = self._members.group_snapshot_page("group_snapshots", page, convert.group_snapshot)
        return pb.ListGroupSnapshotsResponse(**fields)

    def DeleteGroupSnapshot(
        self, request: pb.DeleteGroupSnapshotRequest, context: Any
    ) -> pb.DeleteGroupSnapshotResponse:
        self._m.delete_group_snapshot(request.group_snapshot_id)
        return pb.DeleteGroupSnapshotResponse()
