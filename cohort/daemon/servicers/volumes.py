"""cohort.v1.Volumes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon import convert
from cohort.daemon.servicers._common import paged
from cohort.v1 import volumes_pb2 as pb
from cohort.v1 import volumes_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager


class VolumesServicer(volumes_pb2_grpc.VolumesServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager

    def CreateVolume(self, request: pb.CreateVolumeRequest, context: Any) -> pb.Volume:
        created = self._m.create_volume(
            request.name,
            request.size_bytes,
            request.volume_type,
            group=request.group_id,
            description=request.description,
            snapshot_id=request.snapshot_id,
            volume_id=request.volume_id,
        )
        return convert.volume(created)

    def GetVolume(self, request: pb.GetVolumeRequest, context: Any) -> pb.Volume:
        return convert.volume(self._m.get_volume(request.volume_id))

    def ListVolumes(self, request: pb.ListVolumesRequest, context: Any) -> pb.ListVolumesResponse:
        page = self._m.list_volumes(
            request.page_size,
            request.page_token,
            status=convert.volume_status_filter(request.status),
            group=request.group_id,
        )
        return pb.ListVolumesResponse(**paged("volumes", page, convert.volume_fields))

    def ExtendVolume(self, request: pb.ExtendVolumeRequest, context: Any) -> pb.Volume:
        return convert.volume(self._m.extend_volume(request.volume_id, request.new_size_bytes))

    def DeleteVolume(
        self, request: pb.DeleteVolumeRequest, context: Any
    ) -> pb.DeleteVolumeResponse:
        self._m.delete_volume(request.volume_id)
        return pb.DeleteVolumeResponse()
