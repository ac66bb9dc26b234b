"""Volumes and their snapshots."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from cohort.domain import validation
from cohort.domain.backend import VolumeUpdate
from cohort.domain.model import Snapshot, SnapshotStatus, Volume, VolumeStatus, VolumeType, now
from cohort.domain.store import Page, Transaction
from cohort.errors import (
    AlreadyExists,
    BackendError,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
)
from cohort.manager.core import Core

log = structlog.get_logger(__name__)

#: The volume type a create without one gets, when the operator made a type of that name.
DEFAULT_VOLUME_TYPE = "default"
USABLE = frozenset({VolumeStatus.AVAILABLE, VolumeStatus.IN_USE})
DELETABLE_VOLUME = frozenset(
    {VolumeStatus.AVAILABLE, VolumeStatus.ERROR, VolumeStatus.ERROR_DELETING}
)
DELETABLE_SNAPSHOT = frozenset(
    {SnapshotStatus.AVAILABLE, SnapshotStatus.ERROR, SnapshotStatus.ERROR_DELETING}
)


def describe(obj: Volume | Snapshot) -> str:
    kind = "volume" if isinstance(obj, Volume) else "snapshot"
    return f"{kind} {obj.name} ({obj.id})"


class VolumesMixin(Core):
    # -- volumes -----------------------------------------------------------------------------
    def create_volume(
        self,
        name: str,
        size_bytes: int,
        volume_type: str,
        group: str = "",
        description: str = "",
        snapshot_id: str = "",
        volume_id: str = "",
    ) -> Volume:
        validation.name(name, "volume name")
        validation.description(description)
        if snapshot_id and volume_id:
            raise InvalidArgument("give at most one source: snapshot_id or volume_id")
        if size_bytes or not (snapshot_id or volume_id):
            validation.size_bytes(size_bytes, "size_bytes")
        with self.checked_mutation() as (tx, pool):
            vtype = self._type_for_new_volume(tx, volume_type)
            source = self._source(tx, snapshot_id, volume_id)
            size = self.backend.round_size(max(size_bytes, source.size_bytes if source else 0))
            group_id = self._group_for_new_volume(tx, group, vtype.id) if group else None
            existing = tx.volumes.by_name(name)
            if existing is not None:
                wanted = (size, vtype.id, group_id, snapshot_id or None, volume_id or None)
                have = (
                    existing.size_bytes,
                    existing.volume_type_id,
                    existing.group_id,
                    existing.source_snapshot_id,
                    existing.source_volume_id,
                )
                if wanted == have and existing.description == description:
                    return existing
                raise AlreadyExists(f"volume {name} exists with other arguments")
            self.require_specs(pool, vtype.extra_specs, f"volume type {vtype.name}")
            self.require_room(pool, size, f"volume {name}")
            volume = Volume(
                name=name,
                size_bytes=size,
                volume_type_id=vtype.id,
                description=description,
                group_id=group_id,
                source_snapshot_id=snapshot_id or None,
                source_volume_id=volume_id or None,
            )
            tx.volumes.add(volume)
        self.notify()
        try:
            update = self._backend_create(volume, source)
        except ResourceExhausted:
            self._discard(volume)
            raise
        except Exception as exc:
            self.set_volume_status(volume, VolumeStatus.ERROR)
            raise BackendError(f"{describe(volume)}: create failed: {exc}") from exc
        with self.mutation() as tx:
            volume.status = VolumeStatus.AVAILABLE
            volume.device_path = update.device_path
            volume.updated_at = now()
            tx.volumes.update(volume)
        self.notify()
        return volume

    def _type_for_new_volume(self, tx: Transaction, ref: str) -> VolumeType:
        """The named type; without a name, the type named "default" when there is one."""
        if ref:
            return self.volume_type(tx, ref)
        default = tx.volume_types.by_name(DEFAULT_VOLUME_TYPE)
        if default is None:
            raise InvalidArgument(
                f"volume_type is required (there is no volume type named {DEFAULT_VOLUME_TYPE!r})"
            )
        return default

    def _source(
        self, tx: Transaction, snapshot_id: str, volume_id: str
    ) -> Snapshot | Volume | None:
        """The snapshot or volume a new volume is made from, checked usable; None if none."""
        if snapshot_id:
            snap = self.snapshot(tx, snapshot_id)
            if snap.status is not SnapshotStatus.AVAILABLE:
                raise FailedPrecondition(f"{describe(snap)} is {snap.status}, not available")
            return snap
        if volume_id:
            src = self.volume(tx, volume_id)
            if src.status not in USABLE:
                raise FailedPrecondition(f"{describe(src)} is {src.status}, not available")
            return src
        return None

    def _group_for_new_volume(self, tx: Transaction, ref: str, volume_type_id: str) -> str:
        group = self.group(tx, ref, cg=None)
        if group.status != "available":
            raise FailedPrecondition(f"group {group.name} is {group.status}, not available")
        if volume_type_id not in group.volume_type_ids:
            raise FailedPrecondition(f"group {group.name} does not accept that volume type")
        return group.id

    def _backend_create(self, volume: Volume, source: Snapshot | Volume | None) -> VolumeUpdate:
        if isinstance(source, Snapshot):
            return self.backend.create_volume_from_snapshot(volume, source)
        if isinstance(source, Volume):
            return self.backend.create_cloned_volume(volume, source)
        return self.backend.create_volume(volume)

    def _discard(self, volume: Volume) -> None:
        """Undo a refused create: nothing half-made stays behind."""
        try:
            self.backend.delete_volume(volume)
        finally:
            with self.mutation() as tx:
                tx.volumes.remove(volume.id)
            self.notify()

    def set_volume_status(self, volume: Volume, status: VolumeStatus) -> None:
        with self.mutation() as tx:
            volume.status = status
            volume.updated_at = now()
            tx.volumes.update(volume)
        self.notify()

    def get_volume(self, volume_id: str) -> Volume:
        with self.reading() as tx:
            return self.volume(tx, volume_id)

    def list_volumes(
        self,
        page_size: int,
        page_token: str,
        status: VolumeStatus | None = None,
        group: str = "",
    ) -> Page[Volume]:
        with self.reading() as tx:
            group_id = self.group(tx, group, cg=None).id if group else None
            return self.paged(tx.volumes, page_size, page_token, status=status, group_id=group_id)

    def extend_volume(self, volume_id: str, new_size_bytes: int) -> Volume:
        validation.size_bytes(new_size_bytes, "new_size_bytes")
        with self.checked_mutation() as (tx, pool):
            volume = self.volume(tx, volume_id)
            if volume.status not in USABLE:
                raise FailedPrecondition(f"{describe(volume)} is {volume.status}, not available")
            size = self.backend.round_size(new_size_bytes)
            if size <= volume.size_bytes:
                raise InvalidArgument(
                    f"new size {new_size_bytes} must exceed the current {volume.size_bytes}"
                )
            self.require_room(pool, size - volume.size_bytes, f"extend {describe(volume)}")
            previous = volume.status
            volume.status = VolumeStatus.EXTENDING
            tx.volumes.update(volume)
        try:
            self.backend.extend_volume(volume, size)
        except Exception as exc:
            self.set_volume_status(volume, VolumeStatus.ERROR)
            raise BackendError(f"{describe(volume)}: extend failed: {exc}") from exc
        volume.size_bytes = size
        self.set_volume_status(volume, previous)
        return volume

    def delete_volume(self, volume_id: str) -> None:
        with self.mutation() as tx:
            volume = self.volume(tx, volume_id)
            if volume.group_id:
                raise FailedPrecondition(f"{describe(volume)} is in group {volume.group_id}")
            if volume.status is VolumeStatus.IN_USE:
                raise FailedPrecondition(f"{describe(volume)} is exported")
            if volume.status not in DELETABLE_VOLUME:
                raise FailedPrecondition(f"{describe(volume)} is {volume.status}")
            if tx.snapshots.count(volume_id=volume.id):
                raise FailedPrecondition(f"{describe(volume)} has snapshots")
            volume.status = VolumeStatus.DELETING
            tx.volumes.update(volume)
        self._delete(volume, self.backend.delete_volume, self._forget_volume)

    def _forget_volume(self, volume: Volume) -> None:
        with self.mutation() as tx:
            tx.volumes.remove(volume.id)

    # -- snapshots ---------------------------------------------------------------------------
    def create_snapshot(self, volume_id: str, name: str, description: str = "") -> Snapshot:
        validation.name(name, "snapshot name")
        validation.description(description)
        with self.mutation() as tx:
            volume = self.volume(tx, volume_id)
            existing = tx.snapshots.by_name(name)
            if existing is not None:
                if (existing.volume_id, existing.description) == (volume.id, description):
                    return existing
                raise AlreadyExists(f"snapshot {name} exists with other arguments")
            if volume.status not in USABLE:
                raise FailedPrecondition(f"{describe(volume)} is {volume.status}, not available")
            snap = Snapshot(
                name=name,
                volume_id=volume.id,
                size_bytes=volume.size_bytes,
                description=description,
            )
            tx.snapshots.add(snap)
        try:
            self.backend.create_snapshot(snap, volume)
        except ResourceExhausted:
            self._discard_snapshot(snap)
            raise
        except Exception as exc:
            self.set_snapshot_status(snap, SnapshotStatus.ERROR)
            raise BackendError(f"{describe(snap)}: create failed: {exc}") from exc
        self.set_snapshot_status(snap, SnapshotStatus.AVAILABLE)
        return snap

    def _discard_snapshot(self, snap: Snapshot) -> None:
        try:
            self.backend.delete_snapshot(snap)
        finally:
            with self.mutation() as tx:
                tx.snapshots.remove(snap.id)

    def set_snapshot_status(self, snap: Snapshot, status: SnapshotStatus) -> None:
        with self.mutation() as tx:
            snap.status = status
            snap.updated_at = now()
            tx.snapshots.update(snap)
        self.notify()

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        with self.reading() as tx:
            return self.snapshot(tx, snapshot_id)

    def list_snapshots(
        self,
        page_size: int,
        page_token: str,
        status: SnapshotStatus | None = None,
        volume_id: str = "",
        group_snapshot_id: str = "",
    ) -> Page[Snapshot]:
        if volume_id:
            validation.object_id(volume_id, "volume_id")
        if group_snapshot_id:
            validation.object_id(group_snapshot_id, "group_snapshot_id")
        with self.reading() as tx:
            return self.paged(
                tx.snapshots,
                page_size,
                page_token,
                status=status,
                volume_id=volume_id or None,
                group_snapshot_id=group_snapshot_id or None,
            )

    def delete_snapshot(self, snapshot_id: str) -> None:
        with self.mutation() as tx:
            snap = self.snapshot(tx, snapshot_id)
            if snap.group_snapshot_id:
                raise FailedPrecondition(
                    f"{describe(snap)} belongs to group snapshot {snap.group_snapshot_id}"
                )
            if snap.status not in DELETABLE_SNAPSHOT:
                raise FailedPrecondition(f"{describe(snap)} is {snap.status}")
            snap.status = SnapshotStatus.DELETING
            tx.snapshots.update(snap)
        self._delete(snap, self.backend.delete_snapshot, self._forget_snapshot)

    def _forget_snapshot(self, snap: Snapshot) -> None:
        with self.mutation() as tx:
            tx.snapshots.remove(snap.id)

    def _delete(
        self,
        obj: Volume | Snapshot,
        backend_delete: Callable[..., None],
        forget: Callable[..., None],
    ) -> None:
        try:
            backend_delete(obj)
        except Exception as exc:
            if isinstance(obj, Volume):
                self.set_volume_status(obj, VolumeStatus.ERROR_DELETING)
            else:
                self.set_snapshot_status(obj, SnapshotStatus.ERROR_DELETING)
            raise BackendError(f"{describe(obj)}: delete failed: {exc}") from exc
        forget(obj)
        log.info("deleted", object=describe(obj))
        self.notify()
