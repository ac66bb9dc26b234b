"""The objects a race is run on, made through the API before each try; reads that say "gone"
instead of raising; and the invariant every try ends with: nothing in a transitional or error
status, references intact, and the simulated pool holding exactly what the store holds."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import grpc

from cohort.domain.model import GroupStatus, SnapshotStatus, VolumeStatus
from cohort.sim.faults import METHODS
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.exported import export_problems
from tests.inprocess import Daemon

MIB = 1024**2
SIZE = 8 * MIB
VOLUME_TYPE = "race-plain"
GROUP_TYPE = "race-generic"
TIMEOUT = 30.0

SETTLED_VOLUME = frozenset({VolumeStatus.AVAILABLE, VolumeStatus.IN_USE})
SETTLED_GROUP = frozenset({GroupStatus.AVAILABLE, GroupStatus.IN_USE})


def gone(read: Callable[[], Any]) -> Any:
    """`read()`'s reply, or None when it answers NOT_FOUND."""
    try:
        return read()
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            return None
        raise


class World:
    """Makes and reads objects over the daemon's own channel (not the racing ones)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._serial = itertools.count()
        self.group_ids: set[str] = set()
        daemon.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name=VOLUME_TYPE))
        daemon.types.CreateGroupType(t_pb.CreateGroupTypeRequest(name=GROUP_TYPE))

    def name(self, what: str) -> str:
        return f"{what}-{next(self._serial)}"

    # -- making ------------------------------------------------------------------------------
    def volume(self, group_id: str = "", size_bytes: int = SIZE) -> v_pb.Volume:
        return self.daemon.volumes.CreateVolume(
            v_pb.CreateVolumeRequest(
                name=self.name("v"),
                size_bytes=size_bytes,
                volume_type=VOLUME_TYPE,
                group_id=group_id,
            ),
            timeout=TIMEOUT,
        )

    def group(self, members: int = 0) -> g_pb.Group:
        group = self.daemon.groups.CreateGroup(
            g_pb.CreateGroupRequest(
                name=self.name("g"), group_type=GROUP_TYPE, volume_types=[VOLUME_TYPE]
            ),
            timeout=TIMEOUT,
        )
        self.group_ids.add(group.id)
        for _ in range(members):
            self.volume(group_id=group.id)
        made = self.get_group(group.id)
        assert made is not None
        return made

    def snapshot(self, volume_id: str) -> s_pb.Snapshot:
        return self.daemon.snapshots.CreateSnapshot(
            s_pb.CreateSnapshotRequest(volume_id=volume_id, name=self.name("s")), timeout=TIMEOUT
        )

    def group_snapshot(self, group_id: str) -> gs_pb.GroupSnapshot:
        return self.daemon.group_snapshots.CreateGroupSnapshot(
            gs_pb.CreateGroupSnapshotRequest(group_id=group_id, name=self.name("gs")),
            timeout=TIMEOUT,
        )

    # -- reading (None: gone) ----------------------------------------------------------------
    def get_volume(self, volume_id: str) -> v_pb.Volume | None:
        request = v_pb.GetVolumeRequest(volume_id=volume_id)
        return gone(lambda: self.daemon.volumes.GetVolume(request, timeout=TIMEOUT))

    def get_group(self, group_id: str) -> g_pb.Group | None:
        request = g_pb.GetGroupRequest(group_id=group_id)
        return gone(lambda: self.daemon.groups.GetGroup(request, timeout=TIMEOUT))

    def get_snapshot(self, snapshot_id: str) -> s_pb.Snapshot | None:
        request = s_pb.GetSnapshotRequest(snapshot_id=snapshot_id)
        return gone(lambda: self.daemon.snapshots.GetSnapshot(request, timeout=TIMEOUT))

    def get_group_snapshot(self, group_snapshot_id: str) -> gs_pb.GroupSnapshot | None:
        request = gs_pb.GetGroupSnapshotRequest(group_snapshot_id=group_snapshot_id)
        return gone(lambda: self.daemon.group_snapshots.GetGroupSnapshot(request, timeout=TIMEOUT))

    def snapshots_of(self, group_snapshot_id: str) -> list[s_pb.Snapshot]:
        request = s_pb.ListSnapshotsRequest(page_size=1000, group_snapshot_id=group_snapshot_id)
        return list(self.daemon.snapshots.ListSnapshots(request, timeout=TIMEOUT).snapshots)

    def volume_named(self, name: str) -> v_pb.Volume | None:
        request = v_pb.ListVolumesRequest(page_size=1000)
        found = self.daemon.volumes.ListVolumes(request, timeout=TIMEOUT).volumes
        return next((v for v in found if v.name == name), None)

    def members(self, group_id: str) -> set[str]:
        group = self.get_group(group_id)
        assert group is not None, f"group {group_id} is gone"
        return set(group.volume_ids)

    # -- the backend -------------------------------------------------------------------------
    def slow_backend(self, seconds: float) -> None:
        """Every backend method waits `seconds` first (0: none): the sim's `delay` fault."""
        tables: dict[str, dict[str, object]] = {m: {"delay": seconds} for m in METHODS}
        self.daemon.faults(**tables if seconds else {})

    # -- the invariant -----------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What breaks the invariant now (empty: nothing); see `store_problems`."""
        return store_problems(self.daemon, self.group_ids)


def store_problems(daemon: Daemon, group_ids: set[str]) -> list[str]:
    """What breaks the invariant in `daemon` now (empty: nothing): every object settled, every
    reference resolved, the pool's volumes, snapshots (with sizes) and groups exactly the
    store's, the exports' targets exactly the store's (tests.exported). `group_ids` (groups
    that were ever made) gains the store's groups."""
    with daemon.store.transaction(readonly=True) as tx:
        volumes = tx.volumes.find()
        snapshots = tx.snapshots.find()
        groups = tx.groups.find()
        group_snapshots = tx.group_snapshots.find()
    in_store = {g.id for g in groups}
    group_ids.update(in_store)
    problems = [f"volume {v.id} {v.status}" for v in volumes if v.status not in SETTLED_VOLUME]
    problems += [f"group {g.id} {g.status}" for g in groups if g.status not in SETTLED_GROUP]
    snapshot_statuses = {s.id: s.status for s in snapshots}
    snapshot_statuses.update((s.id, s.status) for s in group_snapshots)
    problems += [
        f"snapshot {i} {status}"
        for i, status in snapshot_statuses.items()
        if status is not SnapshotStatus.AVAILABLE
    ]
    volume_ids = {v.id for v in volumes}
    problems += [
        f"volume {v.id} in lost group {v.group_id}"
        for v in volumes
        if v.group_id and v.group_id not in in_store
    ]
    problems += [
        f"snapshot {s.id} of lost volume" for s in snapshots if s.volume_id not in volume_ids
    ]
    sim = daemon.sim
    pool = {i: sim.volume_size(i) for i in sim.volume_ids() | sim.snapshot_ids()}
    store = {v.id: v.size_bytes for v in volumes}
    store.update((s.id, s.size_bytes) for s in snapshots)
    problems += [
        f"{i}: {pool.get(i)} bytes in the pool, {store.get(i)} in the store"
        for i in sorted(pool.keys() | store.keys())
        if pool.get(i) != store.get(i)
    ]
    problems += [
        f"group {gid}: store {gid in in_store}, pool {sim.has_group(gid)}"
        for gid in sorted(group_ids)
        if (gid in in_store) != sim.has_group(gid)
    ]
    return problems + export_problems(daemon.manager)
