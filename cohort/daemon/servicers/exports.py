"""cohort.v1.Exports: iSCSI exports, with os-brick's connector in and its connection info out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cohort.daemon.convert.records import timestamp
from cohort.domain.exports import Access, Connector, Export, ExportKind
from cohort.manager.exports import connection_json
from cohort.v1 import exports_pb2 as pb
from cohort.v1 import exports_pb2_grpc

if TYPE_CHECKING:
    from cohort.manager import Manager

_KINDS = {ExportKind.VOLUME: pb.EXPORT_KIND_VOLUME, ExportKind.SNAPSHOT: pb.EXPORT_KIND_SNAPSHOT}


def connector(request: Any) -> Connector | None:
    """The request's connector; None when the client did not set one."""
    if not request.HasField("connector"):
        return None
    c = request.connector
    return Connector(initiator=c.initiator, host=c.host, ip=c.ip, multipath=c.multipath)


def connection(info: dict[str, Any]) -> pb.Connection:
    """The typed message and the JSON of one connection info: the same dict, both ways."""
    return pb.Connection(
        driver_volume_type=info["driver_volume_type"],
        data=pb.IscsiProperties(**info["data"]),
        connection_info_json=connection_json(info),
    )


def export_message(export: Export, accesses: list[Access]) -> pb.Export:
    return pb.Export(
        object_id=export.object_id,
        kind=_KINDS[export.kind],
        target_iqn=export.target_iqn,
        lun=0,
        serial=export.serial,
        read_only=export.read_only,
        accesses=[
            pb.Access(
                initiator=a.initiator,
                host=a.host,
                ip=a.ip,
                multipath=a.multipath,
                attachment_ids=[i for i in a.attachments if i],
                attachments=len(a.attachments),
                auth_username=a.chap_username,
                created_at=timestamp(a.created_at),
            )
            for a in accesses
        ],
        created_at=timestamp(export.created_at),
    )


class ExportsServicer(exports_pb2_grpc.ExportsServicer):
    def __init__(self, manager: Manager) -> None:
        self._m = manager

    def ExportVolume(self, request: pb.ExportVolumeRequest, context: Any) -> pb.Connection:
        info = self._m.export_volume(request.volume_id, connector(request), request.attachment_id)
        return connection(info)

    def ExportSnapshot(self, request: pb.ExportSnapshotRequest, context: Any) -> pb.Connection:
        info = self._m.export_snapshot(
            request.snapshot_id, connector(request), request.attachment_id
        )
        return connection(info)

    def Unexport(self, request: pb.UnexportRequest, context: Any) -> pb.UnexportResponse:
        gone, target_gone = self._m.unexport(
            request.object_id, connector(request), request.attachment_id
        )
        return pb.UnexportResponse(removed_initiators=gone, target_removed=target_gone)

    def ListExports(self, request: pb.ListExportsRequest, context: Any) -> pb.ListExportsResponse:
        page = self._m.list_exports(
            request.page_size, request.page_token, request.object_id, request.initiator
        )
        return pb.ListExportsResponse(
            exports=[export_message(e, a) for e, a in page.items],
            next_page_token=page.next_page_token,
        )
