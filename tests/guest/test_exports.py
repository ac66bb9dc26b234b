"""iSCSI exports through cohortd's Exports service (gRPC over its unix socket), with the guest's
own initiator (iscsiadm, and os-brick as a Cinder host runs it) logging in over loopback
portals: CHAP and the ACL, discovery, unexport, a second portal, a read-only snapshot export,
extend under I/O, a consistent group snapshot of exported members written through their
sessions, bad input, and the host's LVM never scanning an attached LUN. Each test logs out,
deletes its node records and unexports whatever happened.

Run: `vagrant/testbed test -k exports`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from cohort.domain.exports import Credentials
from cohort.tools.ordered_check import check
from cohort.v1 import common_pb2 as c
from cohort.v1 import exports_pb2 as x_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import volumes_pb2 as v_pb

from . import iscsi_kit as kit
from .exports_client import (
    P1,
    ExportsClient,
    attached,
    code_of,
    connection_dict,
    connector,
    exported,
    nothing_left,
    size_of,
    stored_exports,
    unexport_all,
    write_pattern,
)
from .exports_kit import credentials
from .freeze_kit import Writer, delete_group, make_group, require_consistent, snapshot_verdict
from .helpers import SOCKET, create_volume, delete_volume

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("iscsiadm") is None,
    reason="needs root and open-iscsi (the guest)",
)

MiB = 1024**2
SIZE = 64 * MiB
HOST = ("cohort-ex-a", "iqn.2026-01.test.initiator:exports-a")
OTHER = ("cohort-ex-b", "iqn.2026-01.test.initiator:exports-b")


@pytest.fixture(scope="module")
def api() -> Iterator[ExportsClient]:
    with grpc.insecure_channel(f"unix://{SOCKET}") as channel:
        yield ExportsClient(channel)


@pytest.fixture(scope="module")
def ifaces() -> None:
    for name, initiator in (HOST, OTHER):
        kit.iface(name, initiator)


@pytest.fixture
def volume(api: ExportsClient) -> Iterator[v_pb.Volume]:
    """A volume of its own for a test that writes (deleted after, unexported first)."""
    vol = create_volume(f"ex-{uuid.uuid4().hex[:6]}", SIZE, volume_type="exports")
    yield vol
    unexport_all(api, vol.id)
    delete_volume(vol.id)


@pytest.fixture(scope="module")
def shared(api: ExportsClient) -> Iterator[tuple[v_pb.Volume, bytes]]:
    """One volume the read-only tests share, 1 MiB of random bytes at 0 (written through its
    gate): never written again."""
    vol = create_volume(f"ex-shared-{uuid.uuid4().hex[:6]}", SIZE, volume_type="exports")
    pattern = write_pattern(vol.device_path)
    yield vol, pattern
    unexport_all(api, vol.id)
    delete_volume(vol.id)


def login_refused(iqn: str, portal: str, iface: str, creds: Credentials) -> bool:
    refused = not kit.login(iqn, portal, iface, creds)
    kit.logout_all(iqn)
    return refused


def test_chap_acl_discovery_second_portal_and_unexport(
    cohortd: None, api: ExportsClient, ifaces: None, shared: tuple[v_pb.Volume, bytes]
) -> None:
    vol, pattern = shared
    with exported(api, vol.id, HOST[1]) as conn:
        iqn = conn.data.target_iqn
        assert api.volume(vol.id).status == c.VOLUME_STATUS_IN_USE
        assert (conn.data.target_portal, conn.data.auth_method) == (P1, "CHAP")
        assert connection_dict(conn)["data"]["access_mode"] == "rw"
        assert iqn in kit.discover(P1, HOST[0])
        wrong = Credentials(conn.data.auth_username, "not-the-secret00")
        assert login_refused(iqn, P1, HOST[0], wrong)
        assert login_refused(iqn, P1, OTHER[0], credentials(conn))

        assert kit.login(iqn, P1, HOST[0], credentials(conn))
        assert kit.read(kit.device(iqn, P1), len(pattern)) == pattern

        with kit.loopback_address("127.0.0.2") as second:
            again = api.exports.ExportVolume(
                x_pb.ExportVolumeRequest(volume_id=vol.id, connector=connector(HOST[1])),
                timeout=120,
            )
            p2 = f"{second}:3260"
            assert list(again.data.target_portals) == [P1, p2]
            assert list(again.data.target_iqns) == [iqn, iqn]
            assert credentials(again) == credentials(conn)
            assert kit.login(iqn, p2, HOST[0], credentials(conn))
            assert kit.read(kit.device(iqn, p2), len(pattern)) == pattern
            assert kit.sessions(iqn) == 2

            # The target goes with its last access, and its sessions with it (the initiator
            # keeps a failed session until it logs out).
            api.exports.Unexport(
                x_pb.UnexportRequest(object_id=vol.id, connector=connector(HOST[1])), timeout=120
            )
            nothing_left(api, vol.id)
            kit.logout_all(iqn)
            assert login_refused(iqn, P1, HOST[0], credentials(conn))
            assert login_refused(iqn, p2, HOST[0], credentials(conn))
        assert api.volume(vol.id).status == c.VOLUME_STATUS_AVAILABLE


def test_discovery_hides_the_target_from_an_initiator_without_access(
    cohortd: None, api: ExportsClient, ifaces: None, shared: tuple[v_pb.Volume, bytes]
) -> None:
    vol, _ = shared
    with exported(api, vol.id, HOST[1]) as conn:
        assert conn.data.target_iqn not in kit.discover(P1, OTHER[0])


def test_os_brick_attaches_from_the_connection_info_unchanged(
    cohortd: None, api: ExportsClient, shared: tuple[v_pb.Volume, bytes]
) -> None:
    vol, pattern = shared
    script = Path(__file__).with_name("brick_attach.py")
    with tempfile.TemporaryDirectory(prefix="brick-locks-") as locks:
        brick = subprocess.Popen(
            [sys.executable, str(script), str(len(pattern)), locks],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert brick.stdin is not None and brick.stdout is not None
        try:
            props = read_json(brick)["connector"]
            assert props["initiator"].startswith("iqn.")
            conn = x_pb.Connector(
                initiator=props["initiator"],
                host=props["host"],
                ip=props["ip"],
                multipath=props["multipath"],
            )
            request = x_pb.ExportVolumeRequest(volume_id=vol.id, connector=conn)
            info = api.exports.ExportVolume(request, timeout=120)
            brick.stdin.write(info.connection_info_json + "\n")
            brick.stdin.flush()
            attached_to = read_json(brick)
            assert attached_to["sha256"] == hashlib.sha256(pattern).hexdigest(), attached_to
            assert kit.sessions(info.data.target_iqn) == 1
            brick.stdin.write('{"detach": true}\n')
            brick.stdin.flush()
            assert read_json(brick) == {"detached": True}
            assert brick.wait(60) == 0
            assert kit.sessions(info.data.target_iqn) == 0
        finally:
            if brick.poll() is None:
                brick.kill()
                brick.wait()
            for export in stored_exports(api, vol.id):
                kit.logout_all(export.target_iqn)
            unexport_all(api, vol.id)
    nothing_left(api, vol.id)


def read_json(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The next JSON line the os-brick process writes (it died if there is none)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"brick_attach.py exited with {proc.wait(60)}"
    message: dict[str, Any] = json.loads(line)
    return message


def test_a_snapshot_export_is_read_only_to_the_initiator(
    cohortd: None, api: ExportsClient, ifaces: None, shared: tuple[v_pb.Volume, bytes]
) -> None:
    vol, pattern = shared
    snap = api.snapshots.CreateSnapshot(
        s_pb.CreateSnapshotRequest(volume_id=vol.id, name=f"ex-{uuid.uuid4().hex[:6]}"),
        timeout=120,
    )
    try:
        with exported(api, snap.id, HOST[1], snapshot=True) as conn:
            assert conn.data.access_mode == "ro"
            assert kit.login(conn.data.target_iqn, P1, HOST[0], credentials(conn))
            disk = kit.device(conn.data.target_iqn, P1)
            assert kit.read(disk, len(pattern)) == pattern
            # WRITE(10) of one block at LBA 0, sent as is (SG_IO, past the block layer's flag).
            block = kit.run("blockdev", "--getss", str(disk)).stdout.strip()
            write = kit.run("sg_raw", "-R", "-s", block, "-i", "/dev/zero", str(disk),
                            "2a", "00", "00", "00", "00", "00", "00", "00", "01", "00",
                            check=False)  # fmt: skip
            assert write.returncode != 0, write.stdout + write.stderr
            assert "data protect" in (write.stdout + write.stderr).lower()
        nothing_left(api, snap.id)
    finally:
        api.snapshots.DeleteSnapshot(s_pb.DeleteSnapshotRequest(snapshot_id=snap.id), timeout=120)


def test_extend_under_io_grows_the_initiators_disk_after_a_rescan(
    cohortd: None, api: ExportsClient, ifaces: None, volume: v_pb.Volume
) -> None:
    with attached(api, volume.id, HOST) as disk:
        assert size_of(disk) == SIZE
        with Writer([str(disk)]) as writer:
            writer.wait_progress(writer.progress()["done"] + 20, timeout=120)
            grown = api.volumes.ExtendVolume(
                v_pb.ExtendVolumeRequest(volume_id=volume.id, new_size_bytes=2 * SIZE),
                timeout=300,
            )
            assert grown.status == c.VOLUME_STATUS_IN_USE
            kit.run("iscsiadm", "-m", "session", "-R")
            deadline = time.monotonic() + 60
            while size_of(disk) != 2 * SIZE and time.monotonic() < deadline:
                time.sleep(0.2)
            assert size_of(disk) == 2 * SIZE
            writer.wait_progress(writer.progress()["done"] + 20, timeout=120)
            summary = writer.stop()
        verdict = check([str(disk)], slots=writer.slots, direct=True)
        assert verdict.consistent and verdict.last == summary["writes"], verdict


def test_consistent_group_snapshot_of_members_written_over_iscsi(
    cohortd: None, api: ExportsClient, ifaces: None
) -> None:
    require_consistent(api)
    group = make_group(api, f"exg-{uuid.uuid4().hex[:6]}", consistent=True, count=3)
    order = list(group.volume_ids)
    try:
        with contextlib.ExitStack() as stack:
            disks = [str(stack.enter_context(attached(api, v, HOST))) for v in order]
            with Writer(disks) as writer:
                writer.wait_progress(writer.progress()["done"] + 20, timeout=120)
                gs = api.group_snapshots.CreateGroupSnapshot(
                    gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"{group.name}-s"),
                    timeout=600,
                )
                writer.wait_progress(writer.progress()["done"] + 20, timeout=120)
                writer.stop()
        assert gs.status == c.SNAPSHOT_STATUS_AVAILABLE
        verdict = snapshot_verdict(api, gs, order)
        assert verdict.consistent and verdict.last > 0, verdict
    finally:
        for v in order:
            unexport_all(api, v)
        delete_group(api, group.id)


def test_bad_input_is_refused_and_leaves_nothing(
    cohortd: None, api: ExportsClient, ifaces: None, volume: v_pb.Volume
) -> None:
    bad = x_pb.ExportVolumeRequest(volume_id=volume.id, connector=connector("not an iqn"))
    assert code_of(api.exports.ExportVolume, bad) == grpc.StatusCode.INVALID_ARGUMENT
    nothing_left(api, volume.id)

    snap = api.snapshots.CreateSnapshot(
        s_pb.CreateSnapshotRequest(volume_id=volume.id, name="ex-gone"), timeout=120
    )
    api.snapshots.DeleteSnapshot(s_pb.DeleteSnapshotRequest(snapshot_id=snap.id), timeout=120)
    gone = x_pb.ExportSnapshotRequest(snapshot_id=snap.id, connector=connector(HOST[1]))
    assert code_of(api.exports.ExportSnapshot, gone) == grpc.StatusCode.NOT_FOUND
    nothing_left(api, snap.id)

    with exported(api, volume.id, HOST[1]):
        unexport = x_pb.UnexportRequest(object_id=volume.id)
        api.exports.Unexport(unexport, timeout=120)
        assert code_of(api.exports.Unexport, unexport) == grpc.StatusCode.NOT_FOUND
    nothing_left(api, volume.id)

    in_error(api, volume)
    good = x_pb.ExportVolumeRequest(volume_id=volume.id, connector=connector(HOST[1]))
    assert code_of(api.exports.ExportVolume, good) == grpc.StatusCode.FAILED_PRECONDITION
    nothing_left(api, volume.id)


def in_error(api: ExportsClient, volume: v_pb.Volume) -> None:
    """The volume in `error`: an extend whose LV has gone (renamed away, and back after)."""
    lv, away = f"cohort/volume-{volume.id}", f"cohort/away-{volume.id[:8]}"
    kit.run("lvrename", lv, away)
    try:
        extend = v_pb.ExtendVolumeRequest(volume_id=volume.id, new_size_bytes=2 * SIZE)
        code_of(api.volumes.ExtendVolume, extend)
    finally:
        kit.run("lvrename", away, lv)
    assert api.volume(volume.id).status == c.VOLUME_STATUS_ERROR


def test_the_hosts_lvm_never_scans_an_attached_disk(
    cohortd: None, api: ExportsClient, ifaces: None, volume: v_pb.Volume
) -> None:
    accept_all = "devices { global_filter = [ 'a|.*|' ] use_devicesfile = 0 }"
    with attached(api, volume.id, HOST) as disk:
        kit.run("lvm", "pvcreate", "--yes", "--config", accept_all, str(disk))
        try:
            seen = kit.run("lvm", "pvs", "--config", accept_all, "-o", "pv_name").stdout
            # The signature is there, seen by accepting every device (through the gate or the
            # iSCSI disk: LVM picks one of the duplicates).
            assert {str(disk), volume.device_path} & set(seen.split()), seen
            # Plain reports (the node's lvm.conf): not even considered as a device.
            for report in ("pvs", "lvs"):
                out = kit.run("lvm", report, "-a", "--noheadings").stdout
                assert str(disk) not in out and volume.device_path not in out, out
        finally:
            kit.run("lvm", "pvremove", "--yes", "--config", accept_all, str(disk), check=False)
