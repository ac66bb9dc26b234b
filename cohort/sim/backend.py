"""The simulated backend: an in-process model of one thin pool implementing `Backend`.

Volumes and snapshots are thin: their content is a map of 64 KiB chunk index -> chunk id into
the pool's chunk table, shared copy-on-write between a volume and its snapshots and clones. The
pool's allocation is the size of the chunk table (chunks nobody references are dropped), so a
snapshot costs nothing until its origin is overwritten. Sizes are rounded up to a 4 MiB extent.

The group methods do their per-member work through the journal (`StepRecorder`), one step per
object made or deleted, and `revert` undoes a creation step idempotently. The backend never
cleans up after a failure itself: it raises, and the manager rolls back through the journal.

One re-entrant lock serialises every change; a group snapshot holds it across all its members,
so it is write-order consistent (no `write` can fall between two members' snapshots).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cohort.domain.backend import (
    Backend,
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
from cohort.errors import BackendError, ResourceExhausted
from cohort.sim.faults import FaultPlan, MethodFaults, SimulatedCrash

T = TypeVar("T")

MiB = 1 << 20
GiB = 1 << 30
EXTENT_BYTES = 4 * MiB
CHUNK_BYTES = 64 * 1024
DEFAULT_CAPACITY_BYTES = 100 * GiB
DEVICE_DIR = "/dev/cohort-sim"
STATE_VERSION = 1

#: Journal step actions. Creations are undone by `revert`; deletions are not undoable (deletes
#: roll forward: re-running the delete is idempotent), so reverting them does nothing.
ACTION_CREATE_VOLUME = "sim.create_volume"
ACTION_CREATE_SNAPSHOT = "sim.create_snapshot"
ACTION_CREATE_GROUP = "sim.create_group"
ACTION_DELETE_VOLUME = "sim.delete_volume"
ACTION_DELETE_SNAPSHOT = "sim.delete_snapshot"

_CONFIG_KEYS = (
    "capacity_bytes",
    "consistent_group_snapshot",
    "faults",
    "state_file",
    "pool_name",
    "volume_backend_name",
    "max_provisioned_bytes",
)


@dataclass(slots=True)
class _Lv:
    """A thin volume or snapshot: its size and its chunk map (chunk index -> chunk id)."""

    size: int
    chunks: dict[int, int] = field(default_factory=dict)
    origin: str | None = None


def device_path(volume_id: str) -> str:
    return f"{DEVICE_DIR}/{volume_id}"


class _Steps:
    """One group call's steps: numbers them, records them in the journal, and applies the
    `fail_member` and `crash_at_step` knobs."""

    def __init__(self, journal: StepRecorder, faults: MethodFaults, method: str) -> None:
        self._journal = journal
        self._faults = faults
        self._method = method
        self._count = 0

    def run(self, step: Step, work: Callable[[], T], member: int | None, what: str) -> T:
        self._count += 1
        number = self._count

        def fn() -> T:
            if member is not None and self._faults.fail_member == member:
                raise BackendError(
                    f"simulated failure in {self._method} on member #{member}: {what}"
                )
            result = work()
            if self._faults.crash_at_step == number:
                raise SimulatedCrash(f"simulated crash in {self._method} after step #{number}")
            return result

        return self._journal.run(step, fn)


class SimBackend:
    """The simulated thin pool. Implements cohort.domain.backend.Backend."""

    def __init__(
        self,
        capacity_bytes: int = DEFAULT_CAPACITY_BYTES,
        *,
        consistent_group_snapshot: bool = True,
        faults: FaultPlan | None = None,
        state_file: str | os.PathLike[str] | None = None,
        pool_name: str = "sim",
        name: str = "sim",
        max_provisioned_bytes: int | None = None,
    ) -> None:
        if capacity_bytes <= 0:
            raise ValueError(f"capacity_bytes must be positive, got {capacity_bytes}")
        self.name = name
        self.pool_name = pool_name
        self.capacity_bytes = capacity_bytes
        self.consistent_group_snapshot = consistent_group_snapshot
        self.max_provisioned_bytes = max_provisioned_bytes
        self._faults = faults or FaultPlan()
        self._state_file = Path(state_file) if state_file is not None else None
        self._lock = threading.RLock()
        self._volumes: dict[str, _Lv] = {}
        self._snapshots: dict[str, _Lv] = {}
        self._groups: set[str] = set()
        self._data: dict[int, bytes] = {}
        self._next_chunk = 1
        if self._state_file is not None and self._state_file.exists():
            self._load(self._state_file)

    # -- configuration ----------------------------------------------------------------------
    @classmethod
    def from_config(cls, section: Mapping[str, object]) -> SimBackend:
        """From the `[backend.sim]` table; unknown keys and bad values are ValueErrors."""
        for key in section:
            if key not in _CONFIG_KEYS:
                raise ValueError(
                    f"[backend.sim] unknown key {key!r}; known: {', '.join(_CONFIG_KEYS)}"
                )

        def positive_int(key: str) -> int | None:
            value = section.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"[backend.sim] {key} must be a positive integer, got {value!r}")
            return value

        def text(key: str, default: str | None) -> str | None:
            value = section.get(key, default)
            if value is None:
                return None
            if not isinstance(value, str) or not value:
                raise ValueError(f"[backend.sim] {key} must be a non-empty string, got {value!r}")
            return value

        consistent = section.get("consistent_group_snapshot", True)
        if not isinstance(consistent, bool):
            raise ValueError(
                f"[backend.sim] consistent_group_snapshot must be true or false, got {consistent!r}"
            )
        faults_table = section.get("faults", {})
        if not isinstance(faults_table, Mapping):
            raise ValueError("[backend.sim] faults must be a table of per-method tables")
        return cls(
            positive_int("capacity_bytes") or DEFAULT_CAPACITY_BYTES,
            consistent_group_snapshot=consistent,
            faults=FaultPlan.parse(faults_table),
            state_file=text("state_file", None),
            pool_name=text("pool_name", "sim") or "sim",
            name=text("volume_backend_name", "sim") or "sim",
            max_provisioned_bytes=positive_int("max_provisioned_bytes"),
        )

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    def set_faults(self, plan: FaultPlan) -> None:
        """Replace the fault plan at run time (in-process tests)."""
        with self._lock:
            self._faults = plan

    def _faults_for(self, method: str) -> MethodFaults:
        with self._lock:
            faults = self._faults.for_method(method)
        if faults.raise_:
            raise BackendError(f"simulated failure in {method}")
        return faults

    # -- Backend: pool ----------------------------------------------------------------------
    def round_size(self, size_bytes: int) -> int:
        extents = max(1, -(-size_bytes // EXTENT_BYTES))
        return extents * EXTENT_BYTES

    def stats(self) -> PoolStats:
        with self._lock:
            allocated = self._allocated()
            return PoolStats(
                pool_name=self.pool_name,
                total_bytes=self.capacity_bytes,
                free_bytes=max(0, self.capacity_bytes - allocated),
                provisioned_bytes=sum(lv.size for lv in self._volumes.values()),
                total_volumes=len(self._volumes),
                data_percent=round(100.0 * allocated / self.capacity_bytes, 2),
                metadata_percent=0.0,
                thin=True,
                consistent_group_snapshot=self.consistent_group_snapshot,
                backend_state="up",
                location_info=f"sim:{self.pool_name}",
            )

    # -- Backend: volumes and snapshots -----------------------------------------------------
    def create_volume(self, volume: Volume) -> VolumeUpdate:
        self._faults_for("create_volume")
        with self._lock:
            self._make_volume(volume.id, self.round_size(volume.size_bytes), {}, None)
            self._changed()
        return VolumeUpdate(device_path=device_path(volume.id))

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> VolumeUpdate:
        self._faults_for("create_volume_from_snapshot")
        with self._lock:
            self._volume_from_snapshot(volume, snapshot.id)
            self._changed()
        return VolumeUpdate(device_path=device_path(volume.id))

    def create_cloned_volume(self, volume: Volume, source: Volume) -> VolumeUpdate:
        self._faults_for("create_cloned_volume")
        with self._lock:
            self._clone_volume(volume, source.id)
            self._changed()
        return VolumeUpdate(device_path=device_path(volume.id))

    def extend_volume(self, volume: Volume, new_size_bytes: int) -> None:
        self._faults_for("extend_volume")
        with self._lock:
            lv = self._volumes.get(volume.id)
            if lv is None:
                raise BackendError(f"volume {volume.id} does not exist in pool {self.pool_name}")
            new_size = self.round_size(new_size_bytes)
            if new_size < lv.size:
                raise BackendError(
                    f"volume {volume.id}: cannot shrink from {lv.size} to {new_size} bytes"
                )
            self._check_provisioning(new_size - lv.size, f"volume {volume.id}")
            lv.size = new_size
            self._changed()

    def delete_volume(self, volume: Volume) -> None:
        self._faults_for("delete_volume")
        with self._lock:
            if self._volumes.pop(volume.id, None) is not None:
                self._collect()
                self._changed()

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        self._faults_for("create_snapshot")
        with self._lock:
            self._make_snapshot(snapshot.id, volume.id)
            self._changed()

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        self._faults_for("delete_snapshot")
        with self._lock:
            if self._snapshots.pop(snapshot.id, None) is not None:
                self._collect()
                self._changed()

    # -- Backend: groups --------------------------------------------------------------------
    def create_group(self, group: Group) -> ModelUpdate | None:
        faults = self._faults_for("create_group")
        with self._lock:
            self._groups.add(group.id)
            self._changed()
        return _model(faults, GroupStatus.AVAILABLE)

    def update_group(
        self, group: Group, add_volumes: Sequence[Volume], remove_volumes: Sequence[Volume]
    ) -> UpdateGroupResult:
        faults = self._faults_for("update_group")
        with self._lock:
            for number, volume in enumerate([*add_volumes, *remove_volumes], start=1):
                if faults.fail_member == number:
                    raise BackendError(
                        f"simulated failure in update_group on member #{number}: volume {volume.id}"
                    )
            for volume in add_volumes:
                if volume.id not in self._volumes:
                    raise BackendError(
                        f"volume {volume.id} does not exist in pool {self.pool_name}; "
                        f"cannot add it to group {group.id}"
                    )
        if not faults.member_updates:
            return _model(faults, GroupStatus.AVAILABLE), None, None
        added = _members(faults, [v.id for v in add_volumes], None)
        removed = _members(faults, [v.id for v in remove_volumes], None)
        return _model(faults, GroupStatus.AVAILABLE), added, removed

    def delete_group(
        self, group: Group, volumes: Sequence[Volume], journal: StepRecorder
    ) -> GroupResult:
        faults = self._faults_for("delete_group")
        steps = _Steps(journal, faults, "delete_group")
        for number, volume in enumerate(volumes, start=1):
            steps.run(
                Step(ACTION_DELETE_VOLUME, {"volume_id": volume.id}),
                partial(self._remove, self._volumes, volume.id),
                number,
                f"volume {volume.id}",
            )
        with self._lock:
            self._groups.discard(group.id)
            self._changed()
        return _result(faults, GroupStatus.DELETED, [v.id for v in volumes], VolumeStatus.DELETED)

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
        faults = self._faults_for("create_group_from_src")
        if (group_snapshot is None) == (source_group is None):
            raise BackendError(
                f"group {group.id}: exactly one of a group snapshot or a source group is needed"
            )
        steps = _Steps(journal, faults, "create_group_from_src")
        # Under the lock throughout: clones of a source group are taken at one instant.
        with self._lock:
            steps.run(
                Step(ACTION_CREATE_GROUP, {"group_id": group.id}),
                lambda: self._add_group(group.id),
                None,
                f"group {group.id}",
            )
            for number, volume in enumerate(volumes, start=1):
                steps.run(
                    Step(ACTION_CREATE_VOLUME, {"volume_id": volume.id}),
                    partial(self._volume_from_source, volume),
                    number,
                    f"volume {volume.id}",
                )
        updates = [
            MemberUpdate(id=v.id, status=VolumeStatus.AVAILABLE, device_path=device_path(v.id))
            for v in volumes
        ]
        return _model(faults, GroupStatus.AVAILABLE), _member_list(faults, updates)

    def create_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        faults = self._faults_for("create_group_snapshot")
        if group_snapshot.consistent and not self.consistent_group_snapshot:
            raise BackendError(
                f"group snapshot {group_snapshot.id}: pool {self.pool_name} does not support "
                "consistent group snapshots"
            )
        steps = _Steps(journal, faults, "create_group_snapshot")
        # Under the lock throughout: no write falls between two members' snapshots.
        with self._lock:
            for number, snapshot in enumerate(snapshots, start=1):
                steps.run(
                    Step(ACTION_CREATE_SNAPSHOT, {"snapshot_id": snapshot.id}),
                    partial(self._snapshot_step, snapshot),
                    number,
                    f"snapshot {snapshot.id} of volume {snapshot.volume_id}",
                )
        return _result(
            faults, SnapshotStatus.AVAILABLE, [s.id for s in snapshots], SnapshotStatus.AVAILABLE
        )

    def delete_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        faults = self._faults_for("delete_group_snapshot")
        steps = _Steps(journal, faults, "delete_group_snapshot")
        for number, snapshot in enumerate(snapshots, start=1):
            steps.run(
                Step(ACTION_DELETE_SNAPSHOT, {"snapshot_id": snapshot.id}),
                partial(self._remove, self._snapshots, snapshot.id),
                number,
                f"snapshot {snapshot.id}",
            )
        return _result(
            faults, SnapshotStatus.DELETED, [s.id for s in snapshots], SnapshotStatus.DELETED
        )

    # -- Backend: the journal ---------------------------------------------------------------
    def revert(self, step: Step) -> None:
        """Undo a creation step (idempotent: the object may never have been made). Deletion
        steps cannot be undone and need not be: reverting them does nothing."""
        if step.action in (ACTION_DELETE_VOLUME, ACTION_DELETE_SNAPSHOT):
            return
        targets: dict[str, tuple[str, Callable[[str], None]]] = {
            ACTION_CREATE_VOLUME: ("volume_id", lambda i: self._remove(self._volumes, i)),
            ACTION_CREATE_SNAPSHOT: ("snapshot_id", lambda i: self._remove(self._snapshots, i)),
            ACTION_CREATE_GROUP: ("group_id", self._remove_group),
        }
        if step.action not in targets:
            raise BackendError(f"the simulated backend cannot revert step {step.action!r}")
        param, undo = targets[step.action]
        object_id = step.params.get(param)
        if not object_id:
            raise BackendError(f"step {step.action} lacks its parameter {param!r}")
        undo(object_id)

    # -- test helpers -----------------------------------------------------------------------
    def write(self, volume_id: str, offset: int, data: bytes) -> None:
        """Write data into a volume (tests only). Out of pool space: ResourceExhausted."""
        with self._lock:
            lv = self._volumes.get(volume_id)
            if lv is None:
                raise BackendError(f"volume {volume_id} does not exist in pool {self.pool_name}")
            if offset < 0 or offset + len(data) > lv.size:
                raise BackendError(
                    f"volume {volume_id}: write of {len(data)} bytes at {offset} is outside "
                    f"its {lv.size} bytes"
                )
            before = dict(lv.chunks)
            position = 0
            while position < len(data):
                index, within = divmod(offset + position, CHUNK_BYTES)
                count = min(CHUNK_BYTES - within, len(data) - position)
                chunk = bytearray(self._chunk(lv, index))
                chunk[within : within + count] = data[position : position + count]
                lv.chunks[index] = self._store_chunk(bytes(chunk))
                position += count
            self._collect()
            if self._allocated() > self.capacity_bytes:
                lv.chunks = before
                self._collect()
                raise ResourceExhausted(
                    f"pool {self.pool_name} is full: no room to write {len(data)} bytes "
                    f"to volume {volume_id}"
                )
            self._changed()

    def read(self, volume_id: str, offset: int, length: int) -> bytes:
        """Read from a volume or a snapshot (tests only); unwritten bytes read as zeros."""
        with self._lock:
            lv = self._volumes.get(volume_id) or self._snapshots.get(volume_id)
            if lv is None:
                raise BackendError(f"volume or snapshot {volume_id} does not exist")
            if offset < 0 or length < 0 or offset + length > lv.size:
                raise BackendError(
                    f"{volume_id}: read of {length} bytes at {offset} is outside "
                    f"its {lv.size} bytes"
                )
            out = bytearray()
            position = offset
            while position < offset + length:
                index, within = divmod(position, CHUNK_BYTES)
                count = min(CHUNK_BYTES - within, offset + length - position)
                out += self._chunk(lv, index)[within : within + count]
                position += count
            return bytes(out)

    def has_volume(self, volume_id: str) -> bool:
        with self._lock:
            return volume_id in self._volumes

    def has_snapshot(self, snapshot_id: str) -> bool:
        with self._lock:
            return snapshot_id in self._snapshots

    def has_group(self, group_id: str) -> bool:
        with self._lock:
            return group_id in self._groups

    def inventory(self) -> dict[str, str]:
        with self._lock:
            return {
                **dict.fromkeys(self._volumes, "volume"),
                **dict.fromkeys(self._snapshots, "snapshot"),
            }

    def volume_ids(self) -> set[str]:
        with self._lock:
            return set(self._volumes)

    def snapshot_ids(self) -> set[str]:
        with self._lock:
            return set(self._snapshots)

    def volume_size(self, volume_id: str) -> int:
        with self._lock:
            lv = self._volumes.get(volume_id) or self._snapshots.get(volume_id)
            if lv is None:
                raise BackendError(f"volume or snapshot {volume_id} does not exist")
            return lv.size

    def allocated_bytes(self) -> int:
        with self._lock:
            return self._allocated()

    # -- internals (callers hold the lock) --------------------------------------------------
    def _allocated(self) -> int:
        return len(self._data) * CHUNK_BYTES

    def _chunk(self, lv: _Lv, index: int) -> bytes:
        chunk_id = lv.chunks.get(index)
        return self._data[chunk_id] if chunk_id is not None else bytes(CHUNK_BYTES)

    def _store_chunk(self, chunk: bytes) -> int:
        chunk_id = self._next_chunk
        self._next_chunk += 1
        self._data[chunk_id] = chunk
        return chunk_id

    def _collect(self) -> None:
        """Drop chunks no volume or snapshot references any more."""
        live: set[int] = set()
        for lv in (*self._volumes.values(), *self._snapshots.values()):
            live.update(lv.chunks.values())
        for chunk_id in [c for c in self._data if c not in live]:
            del self._data[chunk_id]

    def _check_provisioning(self, extra: int, what: str) -> None:
        if self.max_provisioned_bytes is None or extra <= 0:
            return
        provisioned = sum(lv.size for lv in self._volumes.values())
        if provisioned + extra > self.max_provisioned_bytes:
            raise ResourceExhausted(
                f"pool {self.pool_name}: no room for {what} ({extra} bytes more than the "
                f"{provisioned} provisioned of at most {self.max_provisioned_bytes})"
            )

    def _make_volume(
        self, volume_id: str, size: int, chunks: dict[int, int], origin: str | None
    ) -> None:
        existing = self._volumes.get(volume_id)
        if existing is not None:
            if existing.size != size or existing.origin != origin:
                raise BackendError(f"volume {volume_id} already exists with other arguments")
            return  # idempotent
        self._check_provisioning(size, f"volume {volume_id}")
        self._volumes[volume_id] = _Lv(size=size, chunks=dict(chunks), origin=origin)

    def _volume_from_snapshot(self, volume: Volume, snapshot_id: str) -> None:
        source = self._snapshots.get(snapshot_id)
        if source is None:
            raise BackendError(
                f"volume {volume.id}: source snapshot {snapshot_id} does not exist "
                f"in pool {self.pool_name}"
            )
        size = max(self.round_size(volume.size_bytes), source.size)
        self._make_volume(volume.id, size, source.chunks, snapshot_id)

    def _clone_volume(self, volume: Volume, source_id: str) -> None:
        source = self._volumes.get(source_id)
        if source is None:
            raise BackendError(
                f"volume {volume.id}: source volume {source_id} does not exist "
                f"in pool {self.pool_name}"
            )
        size = max(self.round_size(volume.size_bytes), source.size)
        self._make_volume(volume.id, size, source.chunks, source_id)

    def _volume_from_source(self, volume: Volume) -> None:
        with self._lock:
            if volume.source_snapshot_id:
                self._volume_from_snapshot(volume, volume.source_snapshot_id)
            elif volume.source_volume_id:
                self._clone_volume(volume, volume.source_volume_id)
            else:
                raise BackendError(f"volume {volume.id} names no source snapshot or volume")
            self._changed()

    def _make_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        origin = self._volumes.get(volume_id)
        if origin is None:
            raise BackendError(
                f"snapshot {snapshot_id}: volume {volume_id} does not exist "
                f"in pool {self.pool_name}"
            )
        existing = self._snapshots.get(snapshot_id)
        if existing is not None:
            if existing.origin != volume_id:
                raise BackendError(f"snapshot {snapshot_id} already exists of another volume")
            return  # idempotent
        self._snapshots[snapshot_id] = _Lv(
            size=origin.size, chunks=dict(origin.chunks), origin=volume_id
        )

    def _snapshot_step(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._make_snapshot(snapshot.id, snapshot.volume_id)
            self._changed()

    def _add_group(self, group_id: str) -> None:
        with self._lock:
            self._groups.add(group_id)
            self._changed()

    def _remove_group(self, group_id: str) -> None:
        with self._lock:
            if group_id in self._groups:
                self._groups.discard(group_id)
                self._changed()

    def _remove(self, table: dict[str, _Lv], object_id: str) -> None:
        with self._lock:
            if table.pop(object_id, None) is not None:
                self._collect()
                self._changed()

    # -- persistence ------------------------------------------------------------------------
    def _changed(self) -> None:
        if self._state_file is not None:
            self._save(self._state_file)

    def _save(self, path: Path) -> None:
        def lv_json(lv: _Lv) -> dict[str, Any]:
            return {
                "size": lv.size,
                "origin": lv.origin,
                "chunks": {str(i): c for i, c in sorted(lv.chunks.items())},
            }

        state = {
            "version": STATE_VERSION,
            "volumes": {k: lv_json(v) for k, v in sorted(self._volumes.items())},
            "snapshots": {k: lv_json(v) for k, v in sorted(self._snapshots.items())},
            "groups": sorted(self._groups),
            "next_chunk": self._next_chunk,
            "data": {
                str(c): base64.b64encode(b).decode("ascii") for c, b in sorted(self._data.items())
            },
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if state.get("version") != STATE_VERSION:
                raise ValueError(f"unsupported version {state.get('version')!r}")

            def lv(obj: Mapping[str, Any]) -> _Lv:
                origin = obj.get("origin")
                return _Lv(
                    size=int(obj["size"]),
                    chunks={int(i): int(c) for i, c in obj["chunks"].items()},
                    origin=str(origin) if origin is not None else None,
                )

            volumes = {str(k): lv(v) for k, v in state["volumes"].items()}
            snapshots = {str(k): lv(v) for k, v in state["snapshots"].items()}
            groups = {str(g) for g in state["groups"]}
            data = {int(c): base64.b64decode(b) for c, b in state["data"].items()}
            next_chunk = int(state["next_chunk"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"simulated pool state file {path} is unreadable: {exc}") from exc
        self._volumes, self._snapshots, self._groups = volumes, snapshots, groups
        self._data, self._next_chunk = data, next_chunk


# -- building the answers -------------------------------------------------------------------
def _model(faults: MethodFaults, status: str) -> ModelUpdate | None:
    if not faults.model_update:
        return None
    return ModelUpdate(status=faults.model_status or status)


def _members(faults: MethodFaults, ids: Sequence[str], status: str | None) -> list[MemberUpdate]:
    return _member_list(faults, [MemberUpdate(id=i, status=status) for i in ids]) or []


def _member_list(faults: MethodFaults, updates: list[MemberUpdate]) -> list[MemberUpdate] | None:
    if not faults.member_updates:
        return None
    if updates and faults.member_status is not None:
        first = updates[0]
        updates[0] = MemberUpdate(
            id=first.id, status=faults.member_status, device_path=first.device_path
        )
    return updates


def _result(
    faults: MethodFaults, model_status: str, member_ids: Sequence[str], member_status: str
) -> GroupResult:
    members = [MemberUpdate(id=i, status=member_status) for i in member_ids]
    return _model(faults, model_status), _member_list(faults, members)


if TYPE_CHECKING:

    def _conforms(sim: SimBackend) -> Backend:
        return sim
