"""LioTargets on the guest's kernel target, with the guest's own initiator (iscsiadm).

No cohortd involved: volumes are made by `LvmVolumes` on the guest's pool, the targets by
`LioTargets`, and the initiator logs in over loopback portals. What an initiator sees of an
export made through cohortd (CHAP, ACLs, discovery, two portals, read-only snapshots, identity
after a re-creation, LVM never scanning the LUN) is proven through cohortd's API by
test_exports.py and test_exports_restart.py; here, what only LioTargets' own calls show.
Every test logs out, deletes its node records and withdraws its targets, whatever happened.

Run: `vagrant/testbed test -k lio`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import rtslib_fb

from cohort.domain.exports import AclSpec, Credentials, TargetSpec
from cohort.domain.model import Volume
from cohort.iscsi.lio import LioTargets
from cohort.iscsi.portals import PortalFinder
from cohort.lvm.run import CommandRunner
from cohort.lvm.volumes import LvmVolumes

from . import iscsi_kit as kit

pytestmark = kit.NEEDS_LIO

MiB = 1024**2
PREFIX = "iqn.2026-01.test.cohort:"
HOST = "iqn.2026-01.test.initiator:host-a"
OTHER = "iqn.2026-01.test.initiator:host-b"
P1 = "127.0.0.1:3260"


@pytest.fixture(scope="module")
def ifaces() -> tuple[str, str]:
    return kit.iface("cohort-a", HOST), kit.iface("cohort-b", OTHER)


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
