"""LioTargets on the guest's kernel target, with the guest's own initiator (iscsiadm).

No cohortd involved: volumes and snapshots are made by `LvmVolumes` on the guest's pool, the
targets by `LioTargets`, and the initiator logs in over loopback portals. Every test logs out,
deletes its node records and withdraws its targets, whatever happened.

Run: `vagrant/testbed test -k lio`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import rtslib_fb

from cohort.domain.exports import AclSpec, Credentials, TargetSpec
from cohort.domain.model import Snapshot, Volume
from cohort.iscsi.lio import LioTargets
from cohort.iscsi.portals import PortalFinder
from cohort.lvm.run import CommandRunner
from cohort.lvm.volumes import LvmVolumes

from . import iscsi_kit as kit

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("iscsiadm") is None
    or not Path("/sys/kernel/config").is_dir(),
    reason="needs root, LIO and open-iscsi (the guest)",
)

MiB = 1024**2
PREFIX = "iqn.2026-01.test.cohort:"
HOST = "iqn.2026-01.test.initiator:host-a"
OTHER = "iqn.2026-01.test.initiator:host-b"
P1 = "127.0.0.1:3260"


@pytest.fixture(scope="module")
def ifaces() -> tuple[str, str]:
    return kit.iface("cohort-a", HOST), kit.iface("cohort-b", OTHER)


@pytest.fixture
def second_portal() -> Iterator[str]:
    with kit.loopback_address("127.0.0.2") as address:
        yield f"{address}:3260"


@pytest.fixture
def targets() -> LioTargets:
    return LioTargets(PREFIX, PortalFinder(["127.0.0.1"], ["lo"]))


@pytest.fixture
def backend() -> LvmVolumes:
    return LvmVolumes(CommandRunner(timeout=120), "cohort", "pool")


@pytest.fixture
def volume(backend: LvmVolumes) -> Iterator[Volume]:
    """A 16 MiB volume of the guest's pool (through its gate), 1 MiB of random bytes at 0."""
    v = Volume(name="lio", size_bytes=16 * MiB, volume_type_id="lio")
    v.device_path = backend.create_volume(v).device_path
    with open(v.device_path, "r+b", buffering=0) as f:
        f.write(os.urandom(MiB))
        os.fsync(f.fileno())
    yield v
    backend.delete_volume(v)


@pytest.fixture
def exported(targets: LioTargets) -> Iterator[list[str]]:
    """IQNs the test exports: logged out of, records deleted and withdrawn after it."""
    iqns: list[str] = []
    yield iqns
    for iqn in iqns:
        kit.logout_all(iqn)
        targets.withdraw(iqn)


def creds() -> Credentials:
    return Credentials("u" + uuid.uuid4().hex[:8], uuid.uuid4().hex[:16])


def spec_for(device: str, iqns: list[str], *acls: AclSpec, read_only: bool = False) -> TargetSpec:
    iqn = f"{PREFIX}test-{uuid.uuid4().hex[:12]}"
    iqns.append(iqn)
    return TargetSpec(iqn, device, str(uuid.uuid4()), read_only, tuple(acls))


def target_dump(iqn: str) -> Any:
    """rtslib's dump of the target: everything it has, LUN aliases (random at creation) too."""
    return rtslib_fb.Target(rtslib_fb.FabricModule("iscsi"), iqn, mode="lookup").dump()


def test_login_with_chap_reads_the_volume_through_both_portals(
    targets: LioTargets,
    volume: Volume,
    exported: list[str],
    ifaces: tuple[str, str],
    second_portal: str,
) -> None:
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    targets.publish(spec)
    assert [str(p) for p in targets.portals()] == [P1, second_portal]
    assert spec.iqn in targets.present()

    for portal in (P1, second_portal):
        assert kit.login(spec.iqn, portal, ifaces[0], host.credentials)
        disk = kit.device(spec.iqn, portal)
        assert kit.read(disk, MiB) == kit.read(volume.device_path, MiB)
    assert kit.sessions(spec.iqn) == 2
    serial = kit.run("sg_inq", "-p", "0x80", str(disk)).stdout
    assert spec.serial in serial
    # UNMAP advertised (emulate_tpu): the initiator's discards reach the thin pool.
    assert int(Path(f"/sys/block/{disk.name}/queue/discard_max_bytes").read_text()) > 0


def test_a_wrong_secret_and_another_initiator_are_refused(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    targets.publish(spec)
    wrong = Credentials(host.credentials.username, "not-the-secret00")
    assert not kit.login(spec.iqn, P1, ifaces[0], wrong)
    assert not kit.login(spec.iqn, P1, ifaces[1], host.credentials)
    assert kit.sessions(spec.iqn) == 0


def test_discovery_lists_a_target_only_to_its_initiators(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    spec = spec_for(volume.device_path, exported, AclSpec(HOST, creds()))
    targets.publish(spec)
    assert spec.iqn in kit.discover(P1, ifaces[0])
    assert spec.iqn not in kit.discover(P1, ifaces[1])


def test_a_read_only_export_refuses_a_scsi_write(
    targets: LioTargets,
    backend: LvmVolumes,
    volume: Volume,
    exported: list[str],
    ifaces: tuple[str, str],
) -> None:
    snapshot = Snapshot(name="lio", volume_id=volume.id, size_bytes=volume.size_bytes)
    backend.create_snapshot(snapshot, volume)
    try:
        device = backend.snapshot_device(snapshot)
        assert backend.snapshot_device(snapshot) == device
        host = AclSpec(HOST, creds())
        spec = spec_for(device, exported, host, read_only=True)
        targets.publish(spec)
        assert kit.login(spec.iqn, P1, ifaces[0], host.credentials)
        disk = kit.device(spec.iqn, P1)
        assert kit.read(disk, MiB) == kit.read(volume.device_path, MiB)
        assert Path(f"/sys/block/{disk.name}/ro").read_text().strip() == "1"
        # WRITE(10) of one block at LBA 0, sent as is (SG_IO, past the block layer's flag).
        block = kit.run("blockdev", "--getss", str(disk)).stdout.strip()
        write = kit.run("sg_raw", "-R", "-s", block, "-i", "/dev/zero", str(disk),
                        "2a", "00", "00", "00", "00", "00", "00", "00", "01", "00",
                        check=False)  # fmt: skip
        assert write.returncode != 0, write.stdout + write.stderr
        assert "data protect" in (write.stdout + write.stderr).lower()
        kit.logout_all(spec.iqn)
        targets.withdraw(spec.iqn)
    finally:
        backend.release_snapshot_device(snapshot)
        backend.release_snapshot_device(snapshot)
        backend.delete_snapshot(snapshot)
    assert snapshot.id not in backend.inventory()


def test_publish_again_changes_nothing_and_keeps_sessions(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    targets.publish(spec)
    assert kit.login(spec.iqn, P1, ifaces[0], host.credentials)
    before = target_dump(spec.iqn)
    targets.publish(spec)
    assert target_dump(spec.iqn) == before
    assert kit.sessions(spec.iqn) == 1


def test_an_acl_removed_by_publish_closes_its_session(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    host, other = AclSpec(HOST, creds()), AclSpec(OTHER, creds())
    spec = spec_for(volume.device_path, exported, host, other)
    targets.publish(spec)
    assert kit.login(spec.iqn, P1, ifaces[1], other.credentials)
    targets.publish(replace(spec, acls=(host,)))
    (tpg,) = target_dump(spec.iqn)["tpgs"]
    assert [acl["node_wwn"] for acl in tpg["node_acls"]] == [HOST]
    kit.logout_all(spec.iqn)
    assert not kit.login(spec.iqn, P1, ifaces[1], other.credentials)


def test_withdraw_refuses_logins_and_is_idempotent(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    targets.publish(spec)
    assert kit.login(spec.iqn, P1, ifaces[0], host.credentials)
    kit.logout_all(spec.iqn)
    targets.withdraw(spec.iqn)
    targets.withdraw(spec.iqn)
    assert spec.iqn not in targets.present()
    assert not kit.login(spec.iqn, P1, ifaces[0], host.credentials)


def test_disable_keeps_the_target_and_publish_enables_it(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    targets.publish(spec)
    targets.disable(spec.iqn)
    assert spec.iqn in targets.present()
    assert not kit.login(spec.iqn, P1, ifaces[0], host.credentials)
    targets.publish(spec)
    kit.logout_all(spec.iqn)
    assert kit.login(spec.iqn, P1, ifaces[0], host.credentials)


def test_the_hosts_lvm_never_scans_an_attached_lun(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    """A tenant PV inside the volume: the guest's LVM does not see it on the iSCSI disk."""
    accept_all = "devices { global_filter = [ 'a|.*|' ] use_devicesfile = 0 }"
    kit.run("lvm", "pvcreate", "--yes", "--config", accept_all, volume.device_path)
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    targets.publish(spec)
    assert kit.login(spec.iqn, P1, ifaces[0], host.credentials)
    disk = kit.device(spec.iqn, P1)
    pvs = kit.run("lvm", "pvs", "--noheadings", "-o", "pv_name").stdout.split()
    assert str(disk) not in pvs and volume.device_path not in pvs


def test_a_target_made_again_with_its_serial_has_the_same_disk_identity(
    targets: LioTargets, volume: Volume, exported: list[str], ifaces: tuple[str, str]
) -> None:
    """What a restore relies on: the same serial gives the same by-id names (NAA from it)."""
    host = AclSpec(HOST, creds())
    spec = spec_for(volume.device_path, exported, host)
    names = []
    for _ in range(2):
        targets.publish(spec)
        assert kit.login(spec.iqn, P1, ifaces[0], host.credentials)
        names.append(kit.by_id(kit.device(spec.iqn, P1)))
        kit.logout_all(spec.iqn)
        targets.withdraw(spec.iqn)
    assert names[0] == names[1]
    assert any(name.startswith("wwn-0x6001405") for name in names[0]), names[0]
