"""The racers: one Side per mutating RPC, its request built up front."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message

from cohort.v1 import exports_pb2 as e_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.exported import connector
from tests.races.race import Side
from tests.races.world import GROUP_TYPE, SIZE, TIMEOUT, VOLUME_TYPE


def rpc(service: str, method: str, request: Message) -> Side:
    """`method` of the stub `service` (e.g. "volumes", "CreateVolume") with `request`."""
    return Side(method, lambda s: getattr(getattr(s, service), method)(request, timeout=TIMEOUT))


def create_volume(
    name: str,
    group_id: str = "",
    snapshot_id: str = "",
    volume_id: str = "",
    size_bytes: int = SIZE,
) -> Side:
    request = v_pb.CreateVolumeRequest(
        name=name, size_bytes=size_bytes, volume_type=VOLUME_TYPE, group_id=group_id
    )
    if snapshot_id:
        request.snapshot_id = snapshot_id
    if volume_id:
        request.volume_id = volume_id
    return rpc("volumes", "CreateVolume", request)


def extend_volume(volume_id: str, new_size_bytes: int) -> Side:
    request = v_pb.ExtendVolumeRequest(volume_id=volume_id, new_size_bytes=new_size_bytes)
    return rpc("volumes", "ExtendVolume", request)


def delete_volume(volume_id: str) -> Side:
    request = v_pb.DeleteVolumeRequest(volume_id=volume_id)
    return rpc("volumes", "DeleteVolume", request)


def create_snapshot(volume_id: str, name: str) -> Side:
    request = s_pb.CreateSnapshotRequest(volume_id=volume_id, name=name)
    return rpc("snapshots", "CreateSnapshot", request)


def delete_snapshot(snapshot_id: str) -> Side:
    request = s_pb.DeleteSnapshotRequest(snapshot_id=snapshot_id)
    return rpc("snapshots", "DeleteSnapshot", request)


def create_group(name: str, description: str = "") -> Side:
    request = g_pb.CreateGroupRequest(
        name=name, description=description, group_type=GROUP_TYPE, volume_types=[VOLUME_TYPE]
    )
    return rpc("groups", "CreateGroup", request)


def update_group(
    group_id: str,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    name: str | None = None,
    description: str | None = None,
) -> Side:
    request = g_pb.UpdateGroupRequest(
        group_id=group_id,
        add_volume_ids=add,
        remove_volume_ids=remove,
        name=name,
        description=description,
    )
    return rpc("groups", "UpdateGroup", request)


def delete_group(group_id: str, delete_volumes: bool = True) -> Side:
    request = g_pb.DeleteGroupRequest(group_id=group_id, delete_volumes=delete_volumes)
    return rpc("groups", "DeleteGroup", request)


def create_group_from_source(
    name: str, group_snapshot_id: str = "", source_group_id: str = ""
) -> Side:
    request = g_pb.CreateGroupFromSourceRequest(name=name)
    if group_snapshot_id:
        request.group_snapshot_id = group_snapshot_id
    if source_group_id:
        request.source_group_id = source_group_id
    return rpc("groups", "CreateGroupFromSource", request)


def create_group_snapshot(group_id: str, name: str) -> Side:
    request = gs_pb.CreateGroupSnapshotRequest(group_id=group_id, name=name)
    return rpc("group_snapshots", "CreateGroupSnapshot", request)


def delete_group_snapshot(group_snapshot_id: str) -> Side:
    request = gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=group_snapshot_id)
    return rpc("group_snapshots", "DeleteGroupSnapshot", request)


def export_volume(volume_id: str, initiator: str, attachment_id: str = "") -> Side:
    request = e_pb.ExportVolumeRequest(
        volume_id=volume_id, connector=connector(initiator), attachment_id=attachment_id
    )
    return rpc("exports", "ExportVolume", request)


def export_snapshot(snapshot_id: str, initiator: str) -> Side:
    request = e_pb.ExportSnapshotRequest(snapshot_id=snapshot_id, connector=connector(initiator))
    return rpc("exports", "ExportSnapshot", request)


def unexport(object_id: str, initiator: str = "") -> Side:
    """One initiator's access, or every access (no initiator)."""
    request = e_pb.UnexportRequest(object_id=object_id)
    if initiator:
        request.connector.CopyFrom(connector(initiator))
    return rpc("exports", "Unexport", request)
