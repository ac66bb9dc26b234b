"""The exports' invariant, as the concurrency tiers check it: the store's export rows and the
in-memory target (MemoryTargets) agree, and a volume is in-use exactly while it is exported."""

from __future__ import annotations

from cohort.domain.exports import AccessState, AclSpec, Credentials, ExportKind, TargetSpec
from cohort.domain.model import VolumeStatus
from cohort.iscsi.memory import MemoryTargets
from cohort.manager import Manager
from cohort.v1 import exports_pb2 as e_pb

INITIATORS = tuple(f"iqn.1994-05.com.example:host-{n}" for n in "abc")


def connector(initiator: str = INITIATORS[0]) -> e_pb.Connector:
    return e_pb.Connector(initiator=initiator, host=initiator.rsplit(":", 1)[-1])


def memory_targets(manager: Manager) -> MemoryTargets:
    held = manager.exports.targets
    assert isinstance(held, MemoryTargets), "these tests run on the in-memory target"
    return held


def export_problems(manager: Manager) -> list[str]:
    """What breaks the invariant now (empty: nothing): every access settled; every stored export
    has an enabled target that is exactly its spec (device, serial, read-only, the ACLs of its
    accesses with their credentials); no target of cohort's without an export; every volume
    in-use iff exported."""
    targets = memory_targets(manager)
    sealer = manager.exports.sealer
    expected: dict[str, TargetSpec] = {}
    problems: list[str] = []
    with manager.store.transaction(readonly=True) as tx:
        for export in tx.exports.find():
            accesses = tx.accesses.find(export_id=export.id)
            problems += [
                f"access of {a.initiator} to {export.object_id} is {a.state}"
                for a in accesses
                if a.state is not AccessState.ACTIVE
            ]
            if not accesses:
                problems.append(f"export of {export.object_id} without an access")
            if export.kind is ExportKind.VOLUME:
                volume = tx.volumes.get(export.object_id)
                device = volume.device_path if volume else "<lost volume>"
            else:
                snapshot = tx.snapshots.get(export.object_id)
                device = manager.backend.snapshot_device(snapshot) if snapshot else "<lost>"
            acls = tuple(
                AclSpec(
                    a.initiator,
                    Credentials(a.chap_username, sealer.unseal(a.chap_secret_sealed, a.id)),
                )
                for a in accesses
            )
            expected[export.target_iqn] = TargetSpec(
                export.target_iqn, device, export.serial, export.read_only, acls
            )
        exported = {e.object_id for e in tx.exports.find()}
        volumes = tx.volumes.find()
    problems += [
        f"volume {v.id} is {v.status}, exported: {v.id in exported}"
        for v in volumes
        if (v.status is VolumeStatus.IN_USE) != (v.id in exported)
    ]
    held = dict(targets.targets)
    for iqn in sorted(held.keys() | expected.keys()):
        want, have = expected.get(iqn), held.get(iqn)
        if want is None:
            problems.append(f"target {iqn} without an export")
        elif have is None:
            problems.append(f"export {iqn} without a target")
        elif not have.enabled:
            problems.append(f"target {iqn} disabled")
        elif _comparable(have.spec) != _comparable(want):
            problems.append(f"target {iqn} is {have.spec!r}, the store says {want!r}")
    return problems


def _comparable(spec: TargetSpec) -> tuple[object, ...]:
    """A spec with its ACLs in no particular order."""
    acls = sorted((a.initiator, a.credentials.username, a.credentials.password) for a in spec.acls)
    return (spec.iqn, spec.device, spec.serial, spec.read_only, acls)
