"""What tests/guest/test_exports.py shares: cohortd's Exports service as a client, exports that
clean up after themselves (log out, delete the node records, unexport), and LIO's and the
store's view of one object."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from cohort.v1 import exports_pb2 as x_pb
from cohort.v1 import exports_pb2_grpc

from . import iscsi_kit as kit
from .exports_kit import credentials
from .test_scenario import Client

MiB = 1024**2
#: The portal cohortd's guest config names; the second is added to lo by a test.
P1 = "127.0.0.1:3260"
LIO_ISCSI = Path("/sys/kernel/config/target/iscsi")


@dataclass
class ExportsClient(Client):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.exports = exports_pb2_grpc.ExportsStub(self.channel)


def connector(initiator: str, host: str = "guest") -> x_pb.Connector:
    return x_pb.Connector(initiator=initiator, host=host, ip="127.0.0.1")


def connection_dict(conn: x_pb.Connection) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(conn.connection_info_json)
    return info


def unexport_all(api: ExportsClient, object_id: str) -> None:
    """Every access to the object removed (nothing if it has none)."""
    try:
        api.exports.Unexport(x_pb.UnexportRequest(object_id=object_id), timeout=120)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise


@contextlib.contextmanager
def exported(
    api: ExportsClient, object_id: str, initiator: str, snapshot: bool = False
) -> Iterator[x_pb.Connection]:
    """The object exported to `initiator`; after the block: every session to its target logged
    out, the node records deleted, every access removed."""
    conn = connector(initiator)
    if snapshot:
        request = x_pb.ExportSnapshotRequest(snapshot_id=object_id, connector=conn)
        info = api.exports.ExportSnapshot(request, timeout=120)
    else:
        info = api.exports.ExportVolume(
            x_pb.ExportVolumeRequest(volume_id=object_id, connector=conn), timeout=120
        )
    try:
        yield info
    finally:
        kit.logout_all(info.data.target_iqn)
        unexport_all(api, object_id)


@contextlib.contextmanager
def attached(
    api: ExportsClient, object_id: str, iface: tuple[str, str], snapshot: bool = False
) -> Iterator[Path]:
    """The object exported to an interface's initiator (`iface`: its name and initiator) and
    logged in to over P1: its disk."""
    name, initiator = iface
    with exported(api, object_id, initiator, snapshot=snapshot) as conn:
        assert kit.login_eventually(conn.data.target_iqn, P1, name, credentials(conn))
        yield kit.device(conn.data.target_iqn, P1)


def lio_targets(object_id: str) -> list[str]:
    """The kernel's iSCSI targets whose IQN names the object."""
    if not LIO_ISCSI.is_dir():
        return []
    return [p.name for p in LIO_ISCSI.iterdir() if p.name.endswith(object_id)]


def stored_exports(api: ExportsClient, object_id: str) -> list[x_pb.Export]:
    listed = api.exports.ListExports(x_pb.ListExportsRequest(object_id=object_id), timeout=60)
    return list(listed.exports)


def nothing_left(api: ExportsClient, object_id: str) -> None:
    assert lio_targets(object_id) == []
    assert stored_exports(api, object_id) == []


def write_pattern(path: str, length: int = MiB) -> bytes:
    """Random bytes at offset 0 of the device, synced; the bytes."""
    data = os.urandom(length)
    fd = os.open(path, os.O_WRONLY | os.O_SYNC)
    try:
        assert os.pwrite(fd, data, 0) == length
        os.fsync(fd)
    finally:
        os.close(fd)
    return data


def size_of(device: Path | str) -> int:
    return int(kit.run("blockdev", "--getsize64", str(device)).stdout)


def code_of(call: Any, *args: Any, **kwargs: Any) -> grpc.StatusCode:
    """The status code a call fails with (AssertionError when it succeeds)."""
    try:
        call(*args, timeout=120, **kwargs)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    raise AssertionError(f"{call} succeeded")
