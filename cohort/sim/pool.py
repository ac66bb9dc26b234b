"""`SimPool`: an in-process model of one thin pool, with its volumes and snapshots.

Volumes and snapshots are thin: their content is a map of 64 KiB chunk index -> chunk id into
the pool's chunk table, shared copy-on-write between a volume and its snapshots and clones. The
pool's allocation is the size of the chunk table (chunks nobody references are dropped), so a
snapshot costs nothing until its origin is overwritten. Sizes are rounded up to a 4 MiB extent.

One short lock keeps the model consistent: it covers in-memory work only (and, with a state
file, encoding the new state; the file is written after the lock is released). Nothing waits
under it for I/O or for a delay of the fault plan. The group operations are `cohort.sim.groups`;
the state file is `cohort.sim.state`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import sleep

from cohort.domain.backend import PoolStats, VolumeUpdate
from cohort.domain.model import Snapshot, Volume
from cohort.errors import BackendError, ResourceExhausted
from cohort.freeze.fakes import FakeGates, LocalGuard
from cohort.freeze.protocol import Freeze, NoHooks
from cohort.sim import state
from cohort.sim.faults import FaultPlan, MethodFaults
from cohort.sim.state import Lv

MiB = 1 << 20
GiB = 1 << 30
EXTENT_BYTES = 4 * MiB
CHUNK_BYTES = 64 * 1024
DEFAULT_CAPACITY_BYTES = 100 * GiB
#: The in-process guard's deadline for the simulated freeze.
FREEZE_DEADLINE = 10.0
DEVICE_DIR = "/dev/cohort-sim"


def device_path(volume_id: str) -> str:
    return f"{DEVICE_DIR}/{volume_id}"


class SimPool:
    """The simulated thin pool: volumes, snapshots and the test helpers that read and write them."""

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
        gates = FakeGates()
        self.freezer = Freeze(gates, LocalGuard(gates), FREEZE_DEADLINE, NoHooks())
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._version = self._written = 0
        self._volumes: dict[str, Lv] = {}
        self._snapshots: dict[str, Lv] = {}
        self._groups: set[str] = set()
        self._data: dict[int, bytes] = {}
        self._next_chunk = 1
        if self._state_file is not None and self._state_file.exists():
            self._load(self._state_file)

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    def set_faults(self, plan: FaultPlan) -> None:
        """Replace the fault plan at run time (in-process tests)."""
        with self._lock:
            self._faults = plan

    def _faults_for(self, method: str) -> MethodFaults:
        """The method's faults, applied at its start: the `delay` (slept holding no lock), then
        `raise`."""
        with self._lock:
            faults = self._faults.for_method(method)
        if faults.delay:
            sleep(faults.delay)
        if faults.raise_:
            raise faults.failure(f"simulated failure in {method}")
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
                provisioned_bytes=self._provisioned(),
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
        with self._changing():
            self._make_volume(volume.id, self.round_size(volume.size_bytes), {}, None)
        return VolumeUpdate(device_path=device_path(volume.id))

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> VolumeUpdate:
        self._faults_for("create_volume_from_snapshot")
        with self._changing():
            self._volume_from_snapshot(volume, snapshot.id)
        return VolumeUpdate(device_path=device_path(volume.id))

    def create_cloned_volume(self, volume: Volume, source: Volume) -> VolumeUpdate:
        self._faults_for("create_cloned_volume")
        with self._changing():
            self._clone_volume(volume, source.id)
        return VolumeUpdate(device_path=device_path(volume.id))

    def extend_volume(self, volume: Volume, new_size_bytes: int) -> None:
        self._faults_for("extend_volume")
        with self._changing():
            lv = self._volumes.get(volume.id)
            if lv is None:
                raise BackendError(f"volume {volume.id} does not exist in pool {self.pool_name}")
            new_size = self.round_size(new_size_bytes)
            if new_size < lv.size:
                raise BackendError(
                    f"volume {volume.id}: cannot shrink from {lv.size} to {new_size} bytes"
                )
            if new_size > lv.size:
                self._check_room(new_size - lv.size, f"volume {volume.id}")
            lv.size = new_size

    def delete_volume(self, volume: Volume) -> None:
        self._faults_for("delete_volume")
        self._remove(self._volumes, volume.id)

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        self._faults_for("create_snapshot")
        with self._changing():
            self._make_snapshot(snapshot.id, volume.id)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        self._faults_for("delete_snapshot")
        self._remove(self._snapshots, snapshot.id)

    # -- test helpers -----------------------------------------------------------------------
    def write(self, volume_id: str, offset: int, data: bytes) -> None:
        """Write data into a volume (tests only). Out of pool space: ResourceExhausted."""
        with self._changing():
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

    def _chunk(self, lv: Lv, index: int) -> bytes:
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

    def _provisioned(self) -> int:
        """Every volume and every snapshot at its full size (a thin snapshot can grow to it)."""
        return sum(lv.size for lv in (*self._volumes.values(), *self._snapshots.values()))

    def _check_room(self, extra: int, what: str) -> None:
        """A new allocation of `extra` provisioned bytes: refused when no chunk is free (the
        pool is full) or when it would pass max_provisioned_bytes."""
        if self._allocated() >= self.capacity_bytes:
            raise ResourceExhausted(
                f"pool {self.pool_name} is full ({self._allocated()} of {self.capacity_bytes} "
                f"bytes written): no room for {what}"
            )
        if self.max_provisioned_bytes is None:
            return
        provisioned = self._provisioned()
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
        self._check_room(size, f"volume {volume_id}")
        self._volumes[volume_id] = Lv(size=size, chunks=dict(chunks), origin=origin)

    def _volume_from_snapshot(self, volume: Volume, snapshot_id: str) -> None:
        self._copy(volume, self._snapshots.get(snapshot_id), "snapshot", snapshot_id)

    def _clone_volume(self, volume: Volume, source_id: str) -> None:
        self._copy(volume, self._volumes.get(source_id), "volume", source_id)

    def _copy(self, volume: Volume, source: Lv | None, kind: str, source_id: str) -> None:
        """A new volume sharing its source's chunks (copy on write), at least as large."""
        if source is None:
            raise BackendError(
                f"volume {volume.id}: source {kind} {source_id} does not exist "
                f"in pool {self.pool_name}"
            )
        size = max(self.round_size(volume.size_bytes), source.size)
        self._make_volume(volume.id, size, source.chunks, source_id)

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
        self._check_room(origin.size, f"snapshot {snapshot_id}")
        self._snapshots[snapshot_id] = Lv(
            size=origin.size, chunks=dict(origin.chunks), origin=volume_id
        )

    def _remove(self, table: dict[str, Lv], object_id: str) -> None:
        with self._changing():
            if table.pop(object_id, None) is not None:
                self._collect()

    # -- persistence ------------------------------------------------------------------------
    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Hold the lock for a change (in-memory work, then the new state encoded), and write
        the state file, if any, after the lock is released. Also when the change raised: what
        was done before the exception is saved, as a real pool would keep it."""
        text: str | None = None
        version = 0
        try:
            with self._lock:
                try:
                    yield
                finally:
                    if self._state_file is not None:
                        self._version += 1
                        version = self._version
                        text = state.encode(
                            state.Contents(
                                self._volumes,
                                self._snapshots,
                                self._groups,
                                self._data,
                                self._next_chunk,
                            )
                        )
        finally:
            if text is not None:
                self._write(version, text)

    def _write(self, version: int, text: str) -> None:
        """Write one version of the state; a newer one written meanwhile makes it moot."""
        assert self._state_file is not None
        with self._write_lock:
            if version > self._written:
                state.write(self._state_file, text)
                self._written = version

    def _load(self, path: Path) -> None:
        contents = state.load(path)
        self._volumes, self._snapshots, self._groups = (
            contents.volumes,
            contents.snapshots,
            contents.groups,
        )
        self._data, self._next_chunk = contents.data, contents.next_chunk
