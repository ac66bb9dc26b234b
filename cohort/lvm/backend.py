"""`LvmBackend`: cohort's `Backend` on a thin LVM pool, each volume behind its own gate.

- Volumes are thin LVs `volume-<id>`, snapshots thin snapshots `_snapshot-<id>` (inactive, with
  LVM's activation skip flag), every LV tagged `cohort` and `cohort_id_<id>`. Names are made from
  cohort's own ids: no user string reaches a command line. Sizes are rounded up to the extent.
- Each volume is used through its gate (`cohort.lvm.dm`), created with it, reloaded when it
  grows, removed with it, recreated at start.
- Clones (from a volume or a snapshot) are thin snapshots made writable and activatable
  (`--setactivationskip n --activate y`), extended when asked larger.
- Groups: create-from-source and group snapshots run their LVM commands as one batch through
  one `lvm` process (`cohort.lvm.shell`); every member's step is recorded in the journal before
  the batch runs, and `revert` undoes any of them idempotently.
- A full pool: the pool is set to `--errorwhenfull y` (I/O to a full pool fails at once instead
  of queueing for 60 s: an error, not a hang), and new allocations are refused with
  ResourceExhausted when the pool's data or metadata use reaches `full_threshold_percent`. (The
  over-subscription ratio is the manager's rule, from `[backend] max_over_subscription_ratio`.)
- Consistent group snapshots are refused (FailedPrecondition) until the freeze issue lands.
- One writer lock serialises changes (capacity check + create must be atomic); reads take none.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import structlog

from cohort.domain.backend import (
    GroupResult,
    MemberUpdate,
    ModelUpdate,
    PoolStats,
    Step,
    StepRecorder,
    UpdateGroupResult,
    VolumeUpdate,
)
from cohort.domain.model import (
    Group,
    GroupSnapshot,
    GroupStatus,
    Snapshot,
    SnapshotStatus,
    Volume,
    VolumeStatus,
)
from cohort.errors import BackendError, FailedPrecondition
from cohort.lvm import hygiene, names
from cohort.lvm.dm import Gates, linear_table
from cohort.lvm.embedded import DEFAULT_SIZE, POOL_NAME, VG_NAME, EmbeddedPool
from cohort.lvm.errors import NoSpace, ObjectNotFound, edge
from cohort.lvm.lvm import Lvm
from cohort.lvm.report import LogicalVolume, parse_pvs, pvs_argv
from cohort.lvm.run import CommandRunner, Runner
from cohort.lvm.shell import run_batch

log = structlog.get_logger("cohort.lvm.backend")
T = TypeVar("T")
DEFAULT_EXTENT = 4 * 1024**2

ACTION_CREATE_VOLUME = "lvm.create_volume"
ACTION_CREATE_SNAPSHOT = "lvm.create_snapshot"
ACTION_DELETE_VOLUME = "lvm.delete_volume"
ACTION_DELETE_SNAPSHOT = "lvm.delete_snapshot"

_CONFIG_KEYS = {
    "volume_group",
    "thin_pool",
    "embedded_size_bytes",
    "full_threshold_percent",
    "command_timeout_seconds",
    "manage_lvm_config",
    "filter_accept",
    "volume_backend_name",
}


class LvmBackend:
    """See the module docstring."""

    def __init__(
        self,
        runner: Runner,
        vg: str,
        pool: str,
        *,
        name: str = "lvm",
        full_threshold_percent: float = 90.0,
        embedded: EmbeddedPool | None = None,
        manage_lvm_config: bool = True,
        filter_accept: Sequence[str] = (),
        lvm_dir: Path = hygiene.LVM_DIR,
    ) -> None:
        self.name = name
        self.runner = runner
        self.lvm = Lvm(runner, vg, pool)
        self.gates = Gates(runner)
        self.full_threshold_percent = full_threshold_percent
        self.embedded = embedded
        self.manage_lvm_config = manage_lvm_config
        self.filter_accept = tuple(filter_accept)
        self.lvm_dir = lvm_dir
        self._lock = threading.RLock()
        self._extent: int | None = None

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, section: Mapping[str, object], state_dir: Path, *, start: bool = True
    ) -> LvmBackend:
        unknown = set(section) - _CONFIG_KEYS
        if unknown:
            raise ValueError(f"[backend.lvm] unknown keys: {', '.join(sorted(unknown))}")

        def text(key: str) -> str:
            value = section.get(key, "")
            if not isinstance(value, str):
                raise ValueError(f"[backend.lvm] {key} must be a string, got {value!r}")
            return value

        def number(key: str, default: float) -> float:
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"[backend.lvm] {key} must be a positive number, got {value!r}")
            return float(value)

        vg, pool = text("volume_group"), text("thin_pool")
        if bool(vg) != bool(pool):
            raise ValueError("[backend.lvm] volume_group and thin_pool go together (or neither)")
        threshold = number("full_threshold_percent", 90.0)
        if threshold > 100:
            raise ValueError("[backend.lvm] full_threshold_percent must be at most 100")
        accept = section.get("filter_accept", [])
        if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
            raise ValueError("[backend.lvm] filter_accept must be a list of device paths")
        manage = section.get("manage_lvm_config", True)
        if not isinstance(manage, bool):
            raise ValueError("[backend.lvm] manage_lvm_config must be true or false")
        runner = CommandRunner(timeout=number("command_timeout_seconds", 120.0))
        embedded = None
        if not vg:
            vg, pool = VG_NAME, POOL_NAME
            embedded = EmbeddedPool(
                runner, state_dir, int(number("embedded_size_bytes", DEFAULT_SIZE))
            )
        backend = cls(
            runner,
            vg,
            pool,
            name=text("volume_backend_name") or "lvm",
            full_threshold_percent=threshold,
            embedded=embedded,
            manage_lvm_config=manage,
            filter_accept=accept,
        )
        if start:
            backend.start()
        return backend

    def start(self) -> None:
        """Attach the embedded pool, install LVM hygiene, check the pool, activate cohort's
        LVs and recreate missing gates. Safe to run at every start."""
        with self._lock, edge("lvm backend start"):
            loop = self.embedded.attach() if self.embedded else None
            if self.manage_lvm_config:
                pvs = [loop] if loop else self._vg_pvs()
                hygiene.install(self.runner, [*pvs, *self.filter_accept], lvm_dir=self.lvm_dir)
            if self.embedded and loop:
                self.embedded.ensure_vg(self.lvm, loop)
            pool = self.lvm.pool_lv()
            if not pool.attr.thin_pool:
                raise BackendError(f"{pool.full_name} is not a thin pool")
            if pool.when_full != "error":
                log.warning("thin pool queued I/O when full; setting --errorwhenfull y")
                self.lvm.error_when_full()
            self.lvm.activate_tagged()
            self._extent = self.lvm.vg_info().extent_size
            self.ensure_gates()

    def _vg_pvs(self) -> list[str]:
        out = self.runner.run(pvs_argv()).stdout
        return [pv.name for pv in parse_pvs(out) if pv.vg == self.lvm.vg]

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
        state = "up" if pool.attr.active and pool.attr.health.value == "-" else "down"
        return PoolStats(
            pool_name=f"{self.lvm.vg}/{self.lvm.pool}",
            total_bytes=pool.size,
            free_bytes=max(0, pool.size - used),
            provisioned_bytes=sum(lv.size for lv in thin),
            total_volumes=sum(1 for lv in thin if _kind(lv) == "volume"),
            data_percent=data,
            metadata_percent=meta,
            thin=True,
            consistent_group_snapshot=False,
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
        with self._lock, edge(f"volume {volume.id}"):
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
        with self._lock, edge("gates"):
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
        with self._lock, edge(f"volume {volume.id}"):
            if self.lvm.lv(lv_name) is None:
                self._check_room()
                self.lvm.create_thin(lv_name, size, volume.id)
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
        with self._lock, edge(f"volume {volume.id}"):
            if self.lvm.lv(lv_name) is None:
                self.lvm.require(source_lv)
                self._check_room()
                self.lvm.snapshot(lv_name, source_lv, volume.id, writable=True)
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
        with self._lock, edge(f"volume {volume.id}"):
            lv = self.lvm.require(lv_name)
            if size > lv.size:
                self._check_room()
                self.lvm.extend(lv_name, size)
            self._ensure_gate(volume.id, self.lvm.require(lv_name))

    def delete_volume(self, volume: Volume) -> None:
        with self._lock, edge(f"volume {volume.id}"):
            self._remove_volume(volume.id)

    def _remove_volume(self, volume_id: str) -> None:
        self.gates.remove(volume_id)
        self.lvm.remove(names.volume_lv(volume_id))

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        lv_name = names.snapshot_lv(snapshot.id)
        with self._lock, edge(f"snapshot {snapshot.id}"):
            if self.lvm.lv(lv_name) is not None:
                return
            origin = self.lvm.require(names.volume_lv(volume.id))
            self._check_room()
            self.lvm.snapshot(lv_name, origin.name, snapshot.id, writable=False)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock, edge(f"snapshot {snapshot.id}"):
            self.lvm.remove(names.snapshot_lv(snapshot.id))

    # -- groups ----------------------------------------------------------------------------
    def create_group(self, group: Group) -> ModelUpdate | None:
        return ModelUpdate(status=GroupStatus.AVAILABLE)

    def update_group(
        self, group: Group, add_volumes: Sequence[Volume], remove_volumes: Sequence[Volume]
    ) -> UpdateGroupResult:
        with edge(f"group {group.id}"):
            for volume in add_volumes:
                self.lvm.require(names.volume_lv(volume.id))
        return ModelUpdate(status=GroupStatus.AVAILABLE), None, None

    def delete_group(
        self, group: Group, volumes: Sequence[Volume], journal: StepRecorder
    ) -> GroupResult:
        for volume in volumes:
            journal.run(
                Step(ACTION_DELETE_VOLUME, self._params(volume_id=volume.id)),
                lambda v=volume: self.delete_volume(v),  # type: ignore[misc]
            )
        members = [MemberUpdate(id=v.id, status=VolumeStatus.DELETED) for v in volumes]
        return ModelUpdate(status=GroupStatus.DELETED), members

    def create_group_from_src(
        self,
        group: Group,
        volumes: Sequence[Volume],
        journal: StepRecorder,
        group_snapshot: GroupSnapshot | None = None,
        snapshots: Sequence[Snapshot] | None = None,
        source_group: Group | None = None,
        source_vols: Sequence[Volume] | None = None,
    ) -> GroupResult:
        if group.consistent and source_group is not None:
            raise FailedPrecondition(
                f"group {group.id}: a consistent clone of a group needs a consistent group "
                "snapshot, which this backend does not provide yet"
            )
        sources: list[tuple[Volume, str]] = []
        for volume in volumes:
            if volume.source_snapshot_id:
                sources.append((volume, names.snapshot_lv(volume.source_snapshot_id)))
            elif volume.source_volume_id:
                sources.append((volume, names.volume_lv(volume.source_volume_id)))
            else:
                raise BackendError(f"volume {volume.id} names no source")
        steps = [Step(ACTION_CREATE_VOLUME, self._params(volume_id=v.id)) for v in volumes]
        with self._lock, edge(f"group {group.id}"):
            lvs = {lv.name: lv for lv in self.lvm.lvs()}
            commands: list[list[str]] = []
            for volume, source_lv in sources:
                source = lvs.get(source_lv)
                if source is None:
                    raise ObjectNotFound(f"source {self.lvm.full(source_lv)} does not exist")
                size = self.round_size(volume.size_bytes)
                lv_name = names.volume_lv(volume.id)
                if lv_name in lvs:
                    continue
                commands.append(
                    self.lvm.snapshot_argv(lv_name, source_lv, volume.id, writable=True)
                )
                if size > source.size:
                    commands.append(self.lvm.extend_argv(lv_name, size))
            self._check_room()
            _recorded(journal, steps, lambda: run_batch(self.runner, commands))
            updates = []
            lvs = {lv.name: lv for lv in self.lvm.lvs()}
            for volume in volumes:
                lv = lvs.get(names.volume_lv(volume.id))
                if lv is None:
                    raise ObjectNotFound(f"volume {volume.id}: its LV vanished after creation")
                path = self._ensure_gate(volume.id, lv)
                updates.append(
                    MemberUpdate(id=volume.id, status=VolumeStatus.AVAILABLE, device_path=path)
                )
        return ModelUpdate(status=GroupStatus.AVAILABLE), updates

    def create_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        if group_snapshot.consistent:
            raise FailedPrecondition(
                f"group snapshot {group_snapshot.id}: consistent group snapshots need the gate "
                "freeze, which this backend does not provide yet"
            )
        steps = [Step(ACTION_CREATE_SNAPSHOT, self._params(snapshot_id=s.id)) for s in snapshots]
        with self._lock, edge(f"group snapshot {group_snapshot.id}"):
            lvs = {lv.name: lv for lv in self.lvm.lvs()}
            commands: list[list[str]] = []
            for snap in snapshots:
                origin = lvs.get(names.volume_lv(snap.volume_id))
                if origin is None:
                    raise ObjectNotFound(f"volume {snap.volume_id} has no LV")
                lv_name = names.snapshot_lv(snap.id)
                if lv_name not in lvs:
                    commands.append(
                        self.lvm.snapshot_argv(
                            lv_name, origin.name, snap.id, writable=False, fast=True
                        )
                    )
            self._check_room()
            _recorded(journal, steps, lambda: run_batch(self.runner, commands))
        members = [MemberUpdate(id=s.id, status=SnapshotStatus.AVAILABLE) for s in snapshots]
        return ModelUpdate(status=SnapshotStatus.AVAILABLE), members

    def delete_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        for snap in snapshots:
            journal.run(
                Step(ACTION_DELETE_SNAPSHOT, self._params(snapshot_id=snap.id)),
                lambda s=snap: self.delete_snapshot(s),  # type: ignore[misc]
            )
        members = [MemberUpdate(id=s.id, status=SnapshotStatus.DELETED) for s in snapshots]
        return ModelUpdate(status=SnapshotStatus.DELETED), members

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
        with self._lock, edge(f"revert {step.action}"):
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


def _find(lvs: Sequence[LogicalVolume], name: str) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.name == name), None)


def _kind(lv: LogicalVolume) -> str | None:
    """ "volume" / "snapshot" for an LV cohort made (name and id tag agree), else None."""
    parsed = names.kind_of_lv(lv.name)
    if parsed is None:
        return None
    kind, object_id = parsed
    return kind if names.id_tag(object_id) in lv.tags else None


def _recorded(journal: StepRecorder, steps: Sequence[Step], fn: Callable[[], T]) -> T:
    """Record every step (nested `journal.run`), then run `fn` once inside all of them: each
    member's step is in the journal before the batch touches anything."""

    def nest(i: int) -> T:
        if i == len(steps):
            return fn()
        return journal.run(steps[i], lambda: nest(i + 1))

    return nest(0)
