"""cohort.v1.Types: volume types and group types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon import convert
from cohort.daemon.servicers._common import paged
from cohort.v1 import types_pb2 as pb
from cohort.v1 import types_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager


class TypesServicer(types_pb2_grpc.TypesServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager

    def CreateVolumeType(self, request: pb.CreateVolumeTypeRequest, context: Any) -> pb.VolumeType:
        created = self._m.create_volume_type(
            request.name, request.description, dict(request.extra_specs)
        )
        return convert.volume_type(created)

    def GetVolumeType(self, request: pb.GetVolumeTypeRequest, context: Any) -> pb.VolumeType:
        return convert.volume_type(self._m.get_volume_type(request.volume_type))

    def ListVolumeTypes(
        self, request: pb.ListVolumeTypesRequest, context: Any
    ) -> pb.ListVolumeTypesResponse:
        page = self._m.list_volume_types(request.page_size, request.page_token)
        fields = paged("volume_types", page, convert.volume_type_fields)
        return pb.ListVolumeTypesResponse(**fields)

    def DeleteVolumeType(
        self, request: pb.DeleteVolumeTypeRequest, context: Any
    ) -> pb.DeleteVolumeTypeResponse:
        self._m.delete_volume_type(request.volume_type)
        return pb.DeleteVolumeTypeResponse()

    def CreateGroupType(self, request: pb.CreateGroupTypeRequest, context: Any) -> pb.GroupType:
        created = self._m.create_group_type(
            request.name, request.description, dict(request.group_specs)
        )
        return convert.group_type(created)

    def GetGroupType(self, request: pb.GetGroupTypeRequest, context: Any) -> pb.GroupType:
        return convert.group_type(self._m.get_group_type(request.group_type))

    def ListGroupTypes(
        self, request: pb.ListGroupTypesRequest, context: Any
    ) -> pb.ListGroupTypesResponse:
        page = self._m.list_group_types(request.page_size, request.page_token)
        return pb.ListGroupTypesResponse(**paged("group_types", page, convert.group_type_fields))

    def DeleteGroupType(
        self, request: pb.DeleteGroupTypeRequest, context: Any
    ) -> pb.DeleteGroupTypeResponse:
        self._m.delete_group_type(request.group_type)
        return pb.DeleteGroupTypeResponse()
