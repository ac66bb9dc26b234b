"""cohort.v1.Snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon import convert
from cohort.daemon.servicers._common import paged
from cohort.v1 import snapshots_pb2 as pb
from cohort.v1 import snapshots_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager


class SnapshotsServicer(snapshots_pb2_grpc.SnapshotsServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager

    def CreateSnapshot(self, request: pb.CreateSnapshotRequest, context: Any) -> pb.Snapshot:
        created = self._m.create_snapshot(request.volume_id, request.name, request.description)
        return convert.snapshot(created)

    def GetSnapshot(self, request: pb.GetSnapshotRequest, context: Any) -> pb.Snapshot:
        return convert.snapshot(self._m.get_snapshot(request.snapshot_id))

    def ListSnapshots(
        self, request: pb.ListSnapshotsRequest, context: Any
    ) -> pb.ListSnapshotsResponse:
        page = self._m.list_snapshots(
            request.page_size,
            request.page_token,
            status=convert.snapshot_status_filter(request.status),
            volume_id=request.volume_id,
            group_snapshot_id=request.group_snapshot_id,
        )
        return pb.ListSnapshotsResponse(**paged("snapshots", page, convert.snapshot_fields))

    def DeleteSnapshot(
        self, request: pb.DeleteSnapshotRequest, context: Any
    ) -> pb.DeleteSnapshotResponse:
        self._m.delete_snapshot(request.snapshot_id)
        return pb.DeleteSnapshotResponse()
