"""`LvmVolumes`: volumes and snapshots on one thin LVM pool, each volume behind its own gate.

- Volumes are thin LVs `volume-<id>`, snapshots thin snapshots `_snapshot-<id>` (inactive, with
  LVM's activation skip flag), every LV tagged `cohort` and `cohort_id_<id>`. Names are made from
  cohort's own ids: no user string reaches a command line. Sizes are rounded up to the extent.
- Each volume is used through its gate (`cohort.lvm.dm`), created with it, reloaded when it
  grows, removed with it, recreated at start.
- Clones (from a volume or a snapshot) are thin snapshots made writable and activatable
  (`--setactivationskip n --activate y`), extended when asked larger.
- A create of an id whose LV exists is a retry when the LV has the size and origin asked for
  (the same object is answered), else refused (`ObjectExists`, the LV left as it is); an extend
  never shrinks (BackendError).
- A full pool: new allocations are refused with ResourceExhausted when the pool's data or
  metadata use reaches `full_threshold_percent`.
- A snapshot's export reads it through a read-only device (`cohort.lvm.dm.SnapshotDevices`)
  on the snapshot LV, activated for it (ignoring its activation skip flag) and deactivated when
  the device is released; after a reboot it is made again the same way.
- `revert` undoes a journaled creation step idempotently (the group operations of
  `cohort.lvm.groups` journal one step per object).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import structlog

from cohort.domain.backend import PoolStats, Step, VolumeUpdate
from cohort.domain.model import Snapshot, Volume
from cohort.errors import BackendError, Busy
from cohort.lvm import names, repair
from cohort.lvm.dm import Gates, SnapshotDevices, linear_table
from cohort.lvm.errors import NoSpace, ObjectExists, ObjectNotFound, edge
from cohort.lvm.freeze import LvmFreeze
from cohort.lvm.lvm import Lvm
from cohort.lvm.report import LogicalVolume
from cohort.lvm.run import Runner

log = structlog.get_logger("cohort.lvm.backend")
DEFAULT_EXTENT = 4 * 1024**2

ACTION_CREATE_VOLUME = "lvm.create_volume"
ACTION_CREATE_SNAPSHOT = "lvm.create_snapshot"
ACTION_DELETE_VOLUME = "lvm.delete_volume"
ACTION_DELETE_SNAPSHOT = "lvm.delete_snapshot"


class LvmVolumes:
    """See the module docstring."""

    #: The freeze that consistent group images are taken under (`LvmBackend` sets it from
    #: `[freeze]`); None: no consistent group snapshots on this pool.
    freeze: LvmFreeze | None = None

    def __init__(
        self, runner: Runner, vg: str, pool: str, *, full_threshold_percent: float = 90.0
    ) -> None:
        self.runner = runner
        self.lvm = Lvm(runner, vg, pool)
        self.gates = Gates(runner)
        self.snapshot_devices = SnapshotDevices(runner)
        self.full_threshold_percent = full_threshold_percent
        self._extent: int | None = None
        self.pool_problem: str | None = None
        """What start-up found wrong with the pool and could not repair (cohort.lvm.repair):
        the pool reports backend_state "down" until a check finds it repaired."""

    # -- sizes and capacity ----------------------------------------------------------------
    def extent_size(self) -> int:
        """The VG's extent size as read at start (LVM's default 4 MiB before). No I/O: the
        manager calls round_size inside its transactions."""
        return self._extent or DEFAULT_EXTENT

    def round_size(self, size_bytes: int) -> int:
        extent = self.extent_size()
        return max(1, math.ceil(size_bytes / extent)) * extent

    def stats(self) -> PoolStats:
        with edge("thin pool"):
            lvs = self.lvm.lvs()
        pool = _find(lvs, self.lvm.pool)
        if pool is None:
            raise ObjectNotFound(f"thin pool {self.lvm.vg}/{self.lvm.pool} does not exist")
        data = pool.data_percent or 0.0
        meta = pool.metadata_percent or 0.0
        thin = [lv for lv in lvs if lv.attr.thin and lv.pool_lv == self.lvm.pool]
        used = math.ceil(pool.size * max(data, meta) / 100)
        if self.pool_problem is not None:
            self.pool_problem = repair.check_pool_transaction(self.lvm).problem
        healthy = pool.attr.active and pool.attr.health.value == "-"
        state = "up" if healthy and self.pool_problem is None else "down"
        return PoolStats(
            pool_name=f"{self.lvm.vg}/{self.lvm.pool}",
            total_bytes=pool.size,
            free_bytes=max(0, pool.size - used),
            provisioned_bytes=sum(lv.size for lv in thin),
            total_volumes=sum(1 for lv in thin if _kind(lv) == "volume"),
            data_percent=data,
            metadata_percent=meta,
            thin=True,
            consistent_group_snapshot=self.freeze is not None,
            backend_state=state,
            location_info=f"LVMVolumeDriver:{self.lvm.vg}:{self.lvm.pool}:thin",
        )

    def _check_room(self) -> None:
        """Refuse a new allocation on a (nearly) full pool."""
        st = self.stats()
        limit = self.full_threshold_percent
        if st.data_percent >= limit or st.metadata_percent >= limit:
            raise NoSpace(
                f"thin pool {st.pool_name} is {st.data_percent:.1f}% full (data) and "
                f"{st.metadata_percent:.1f}% (metadata); new allocations stop at {limit:g}%"
            )

    # -- gates -----------------------------------------------------------------------------
    def ensure_gate(self, volume: Volume) -> str:
        """The volume's gate exists and matches its LV (created or reloaded); its path."""
        lv_name = names.volume_lv(volume.id)
        with edge(f"volume {volume.id}"):
            lv = self.lvm.require(lv_name)
            return self._ensure_gate(volume.id, lv)

    def _ensure_gate(self, volume_id: str, lv: LogicalVolume) -> str:
        if lv.devno is None:
            self.lvm.activate(lv.name)
            lv = self.lvm.require(lv.name)
            if lv.devno is None:
                raise BackendError(f"{lv.full_name} did not activate")
        want = linear_table(lv.devno, lv.size)
        have = self.gates.table(volume_id)
        if have is None:
            return self.gates.create(volume_id, lv.devno, lv.size)
        if have != want:
            self.gates.reload(volume_id, lv.devno, lv.size)
        return self.gates.path(volume_id)

    def ensure_gates(self) -> dict[str, str]:
        """Recreate the missing gates of every volume LV (start-up, after boot)."""
        with edge("gates"):
            present = self.gates.list()
            made: dict[str, str] = {}
            for lv in self.lvm.lvs():
                kind = _kind(lv)
                if kind != "volume":
                    continue
                volume_id = lv.tag_value(names.TAG_PREFIX) or ""
                if volume_id in present:
                    continue
                made[volume_id] = self._ensure_gate(volume_id, lv)
                log.info("gate recreated", volume_id=volume_id)
            return made

    def inventory(self) -> dict[str, str]:
        """{cohort id: "volume" | "snapshot"} of every LV cohort made in the pool (by tag)."""
        with edge("inventory"):
            lvs = self.lvm.lvs()
        found: dict[str, str] = {}
        for lv in lvs:
            kind = _kind(lv)
            if kind:
                found[lv.tag_value(names.TAG_PREFIX) or ""] = kind
        return found

    # -- volumes ---------------------------------------------------------------------------
    def create_volume(self, volume: Volume) -> VolumeUpdate:
        lv_name = names.volume_lv(volume.id)
        size = self.round_size(volume.size_bytes)
        with edge(f"volume {volume.id}"):
            existing = self.lvm.lv(lv_name)
            if existing is None:
                self._check_room()
                self.lvm.create_thin(lv_name, size, volume.id)
            else:
                _check_same(existing, f"volume {volume.id}", size, "")
            try:
                path = self._ensure_gate(volume.id, self.lvm.require(lv_name))
            except BaseException:
                self._remove_volume(volume.id)
                raise
        return VolumeUpdate(device_path=path)

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> VolumeUpdate:
        return self._clone(volume, names.snapshot_lv(snapshot.id))

    def create_cloned_volume(self, volume: Volume, source: Volume) -> VolumeUpdate:
        return self._clone(volume, names.volume_lv(source.id))

    def _clone(self, volume: Volume, source_lv: str) -> VolumeUpdate:
        lv_name = names.volume_lv(volume.id)
        size = self.round_size(volume.size_bytes)
        with edge(f"volume {volume.id}"):
            existing = self.lvm.lv(lv_name)
            if existing is None:
                self.lvm.require(source_lv)
                self._check_room()
                self.lvm.snapshot(lv_name, source_lv, volume.id, writable=True)
            else:  # a retry; the clone may not have been extended yet
                _check_same(existing, f"volume {volume.id}", size, source_lv, growing=True)
            try:
                lv = self.lvm.require(lv_name)
                if size > lv.size:
                    self.lvm.extend(lv_name, size)
                    lv = self.lvm.require(lv_name)
                path = self._ensure_gate(volume.id, lv)
            except BaseException:
                self._remove_volume(volume.id)
                raise
        return VolumeUpdate(device_path=path)

    def extend_volume(self, volume: Volume, new_size_bytes: int) -> None:
        lv_name = names.volume_lv(volume.id)
        size = self.round_size(new_size_bytes)
        with edge(f"volume {volume.id}"):
            lv = self.lvm.require(lv_name)
            if size < lv.size:
                raise BackendError(
                    f"volume {volume.id}: cannot shrink from {lv.size} to {size} bytes"
                )
            if size > lv.size:
                self._check_room()
                self.lvm.extend(lv_name, size)
            self._ensure_gate(volume.id, self.lvm.require(lv_name))

    def delete_volume(self, volume: Volume) -> None:
        with edge(f"volume {volume.id}"):
            self._remove_volume(volume.id)

    def _remove_volume(self, volume_id: str) -> None:
        self.gates.remove(volume_id)
        self.lvm.remove(names.volume_lv(volume_id))

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        lv_name = names.snapshot_lv(snapshot.id)
        origin_lv = names.volume_lv(volume.id)
        with edge(f"snapshot {snapshot.id}"):
            existing = self.lvm.lv(lv_name)
            if existing is not None:
                _check_same(existing, f"snapshot {snapshot.id}", existing.size, origin_lv)
                return
            origin = self.lvm.require(origin_lv)
            self._check_room()
            self.lvm.snapshot(lv_name, origin.name, snapshot.id, writable=False)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        """A read-only device left on the snapshot (an export's, released by nobody) is
        removed first when LVM says the LV is in use."""
        lv_name = names.snapshot_lv(snapshot.id)
        with edge(f"snapshot {snapshot.id}"):
            try:
                self.lvm.remove(lv_name)
            except Busy:
                self.snapshot_devices.remove(snapshot.id)
                self.lvm.remove(lv_name)

    def snapshot_device(self, snapshot: Snapshot) -> str:
        lv_name = names.snapshot_lv(snapshot.id)
        with edge(f"snapshot {snapshot.id}"):
            lv = self.lvm.require(lv_name)
            if lv.devno is None:
                self.lvm.activate(lv_name, ignore_skip=True)
                lv = self.lvm.require(lv_name)
                if lv.devno is None:
                    raise BackendError(f"{lv.full_name} did not activate")
            return self.snapshot_devices.ensure(snapshot.id, lv.devno, lv.size)

    def release_snapshot_device(self, snapshot: Snapshot) -> None:
        lv_name = names.snapshot_lv(snapshot.id)
        with edge(f"snapshot {snapshot.id}"):
            self.snapshot_devices.remove(snapshot.id)
            lv = self.lvm.lv(lv_name)
            if lv is not None and lv.devno is not None:
                self.lvm.deactivate(lv_name)

    # -- the journal -----------------------------------------------------------------------
    def _params(self, **ids: str) -> dict[str, str]:
        return {"vg": self.lvm.vg, **ids}

    def revert(self, step: Step) -> None:
        """Undo a creation step; idempotent (the LV and gate may not exist, or only one)."""
        if step.action in (ACTION_DELETE_VOLUME, ACTION_DELETE_SNAPSHOT):
            return
        vg = step.params.get("vg", self.lvm.vg)
        if vg != self.lvm.vg:
            raise BackendError(f"step {step.action} belongs to VG {vg}, not {self.lvm.vg}")
        with edge(f"revert {step.action}"):
            if step.action == ACTION_CREATE_VOLUME:
                self._remove_volume(_param(step, "volume_id"))
            elif step.action == ACTION_CREATE_SNAPSHOT:
                self.lvm.remove(names.snapshot_lv(_param(step, "snapshot_id")))
            else:
                raise BackendError(f"the LVM backend cannot revert step {step.action!r}")


def _param(step: Step, key: str) -> str:
    value = step.params.get(key)
    if not value:
        raise BackendError(f"step {step.action} lacks its parameter {key!r}")
    return value


def _check_same(
    lv: LogicalVolume, what: str, size: int, origin: str, *, growing: bool = False
) -> None:
    """An LV already there is a retry of the same create (same size and origin; a clone may be
    smaller, not extended yet, when `growing`), or the create is refused: ObjectExists."""
    size_ok = lv.size <= size if growing else lv.size == size
    if not size_ok or lv.origin != origin:
        raise ObjectExists(
            f"{what} exists with other arguments: {lv.size} bytes from "
            f"{lv.origin or 'nothing'}, asked {size} bytes from {origin or 'nothing'}"
        )


def _find(lvs: Sequence[LogicalVolume], name: str) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.name == name), None)


def _kind(lv: LogicalVolume) -> str | None:
    """ "volume" / "snapshot" for an LV cohort made (name and id tag agree), else None."""
    parsed = names.kind_of_lv(lv.name)
    if parsed is None:
        return None
    kind, object_id = parsed
    return kind if names.id_tag(object_id) in lv.tags else None
