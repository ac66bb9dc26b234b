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
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
)
from cohort.manager.core import Core
from cohort.manager.members import patch
from cohort.manager.reservations import Mode, Ticket

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


def require_unexported(tx: Transaction, obj: Volume | Snapshot) -> None:
    """An exported object is not deleted: initiators may be using it."""
    if tx.exports.count(object_id=obj.id):
        raise FailedPrecondition(f"{describe(obj)} is exported (unexport it first)")


def require_deletable(tx: Transaction, volume: Volume) -> None:
    """The rules a volume's delete checks, alone or with its group."""
    require_unexported(tx, volume)
    if volume.status is VolumeStatus.IN_USE:
        raise FailedPrecondition(f"{describe(volume)} is exported")
    if volume.status not in DELETABLE_VOLUME:
        raise FailedPrecondition(f"{describe(volume)} is {volume.status}")
    if tx.snapshots.count(volume_id=volume.id):
        raise FailedPrecondition(f"{describe(volume)} has snapshots")


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
        return self.idempotent(
            lambda: self._create_volume(
                name, size_bytes, volume_type, group, description, snapshot_id, volume_id
            )
        )

    def _create_volume(
        self,
        name: str,
        size_bytes: int,
        volume_type: str,
        group: str,
        description: str,
        snapshot_id: str,
        volume_id: str,
    ) -> Volume:
        pool = self.pool()
        with self.reserve("CreateVolume") as ticket:
            with self.mutation() as tx:
                vtype = self._type_for_new_volume(tx, volume_type)
                source = self._source(tx, snapshot_id, volume_id)
                size = self.backend.round_size(max(size_bytes, source.size_bytes if source else 0))
                group_id = self.group(tx, group, cg=None).id if group else None
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
                        return self.settled("volume", existing)
                    raise AlreadyExists(f"volume {name} exists with other arguments")
                self._hold_source(ticket, source)
                if group_id:
                    ticket.hold("group", group_id, Mode.SHARED)
                    self._check_group_for_new_volume(tx, group_id, vtype.id)
                self.require_specs(pool, vtype.extra_specs, f"volume type {vtype.name}")
                self.require_room(tx, pool, size, f"volume {name}")
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
                ticket.hold("volume", volume.id, Mode.EXCLUSIVE)
            self.notify()
            try:
                update = self._backend_create(volume, source)
            except ResourceExhausted:
                self._discard(volume)
                raise
            except Exception as exc:
                self.set_volume_status(volume, VolumeStatus.ERROR)
                raise self.failure(exc, f"{describe(volume)}: create failed: {exc}") from exc
            self._patch_volume(
                volume, status=VolumeStatus.AVAILABLE, device_path=update.device_path
            )
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
        """The snapshot or volume a new volume is made from; None if none."""
        if snapshot_id:
            return self.snapshot(tx, snapshot_id)
        if volume_id:
            return self.volume(tx, volume_id)
        return None

    @staticmethod
    def _hold_source(ticket: Ticket, source: Snapshot | Volume | None) -> None:
        """Hold the source shared (a clone only reads it), then check that it is usable."""
        if isinstance(source, Snapshot):
            ticket.hold("snapshot", source.id, Mode.SHARED)
            if source.status is not SnapshotStatus.AVAILABLE:
                raise FailedPrecondition(f"{describe(source)} is {source.status}, not available")
        elif isinstance(source, Volume):
            ticket.hold("volume", source.id, Mode.SHARED)
            if source.status not in USABLE:
                raise FailedPrecondition(f"{describe(source)} is {source.status}, not available")

    def _check_group_for_new_volume(
        self, tx: Transaction, group_id: str, volume_type_id: str
    ) -> None:
        group = self.group(tx, group_id, cg=None)
        if group.status != "available":
            raise FailedPrecondition(f"group {group.name} is {group.status}, not available")
        if volume_type_id not in group.volume_type_ids:
            raise FailedPrecondition(f"group {group.name} does not accept that volume type")
        self.require_group_size(tx, group, 1, 0)

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

    def _patch_volume(self, volume: Volume, **changes: object) -> None:
        with self.mutation() as tx:
            patch(tx.volumes, volume, **changes)

    def set_volume_status(self, volume: Volume, status: VolumeStatus) -> None:
        self._patch_volume(volume, status=status)
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
        pool = self.pool()
        with self.reserve("ExtendVolume") as ticket:
            with self.mutation() as tx:
                volume = self.volume(tx, volume_id)
                ticket.hold("volume", volume.id, Mode.EXCLUSIVE)
                if volume.status not in USABLE:
                    raise FailedPrecondition(
                        f"{describe(volume)} is {volume.status}, not available"
                    )
                size = self.backend.round_size(new_size_bytes)
                if size <= volume.size_bytes:
                    raise InvalidArgument(
                        f"new size {new_size_bytes} must exceed the current {volume.size_bytes}"
                    )
                self.require_room(tx, pool, size - volume.size_bytes, f"extend {describe(volume)}")
                ticket.growth = size - volume.size_bytes
                previous = volume.status
                tx.volumes.patch(volume.id, status=VolumeStatus.EXTENDING, updated_at=now())
            try:
                self.backend.extend_volume(volume, size)
            except ResourceExhausted as exc:
                self.set_volume_status(volume, previous)  # nothing changed: no room
                raise self.failure(exc, f"extend {describe(volume)}: {exc}") from exc
            except Exception as exc:
                self.set_volume_status(volume, VolumeStatus.ERROR)
                raise self.failure(exc, f"{describe(volume)}: extend failed: {exc}") from exc
            self._patch_volume(volume, size_bytes=size, status=previous)
        self.notify()
        return volume

    def delete_volume(self, volume_id: str) -> None:
        with self.reserve("DeleteVolume") as ticket:
            with self.mutation() as tx:
                volume = self.volume(tx, volume_id)
                ticket.hold("volume", volume.id, Mode.EXCLUSIVE)
                if volume.group_id:
                    raise FailedPrecondition(f"{describe(volume)} is in group {volume.group_id}")
                require_deletable(tx, volume)
                patch(tx.volumes, volume, status=VolumeStatus.DELETING)
            self._delete(volume, self.backend.delete_volume, self._forget_volume)

    def _forget_volume(self, volume: Volume) -> None:
        with self.mutation() as tx:
            tx.volumes.remove(volume.id)

    # -- snapshots ---------------------------------------------------------------------------
    def create_snapshot(self, volume_id: str, name: str, description: str = "") -> Snapshot:
        validation.name(name, "snapshot name")
        validation.description(description)
        return self.idempotent(lambda: self._create_snapshot(volume_id, name, description))

    def _create_snapshot(self, volume_id: str, name: str, description: str) -> Snapshot:
        with self.reserve("CreateSnapshot") as ticket:
            with self.mutation() as tx:
                volume = self.volume(tx, volume_id)
                existing = tx.snapshots.by_name(name)
                if existing is not None:
                    if (existing.volume_id, existing.description) == (volume.id, description):
                        return self.settled("snapshot", existing)
                    raise AlreadyExists(f"snapshot {name} exists with other arguments")
                ticket.hold("volume", volume.id, Mode.SHARED)
                if volume.status not in USABLE:
                    raise FailedPrecondition(
                        f"{describe(volume)} is {volume.status}, not available"
                    )
                snap = Snapshot(
                    name=name,
                    volume_id=volume.id,
                    size_bytes=volume.size_bytes,
                    description=description,
                )
                tx.snapshots.add(snap)
                ticket.hold("snapshot", snap.id, Mode.EXCLUSIVE)
            try:
                self.backend.create_snapshot(snap, volume)
            except ResourceExhausted:
                self._discard_snapshot(snap)
                raise
            except Exception as exc:
                self.set_snapshot_status(snap, SnapshotStatus.ERROR)
                raise self.failure(exc, f"{describe(snap)}: create failed: {exc}") from exc
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
            patch(tx.snapshots, snap, status=status)
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
        with self.reserve("DeleteSnapshot") as ticket:
            with self.mutation() as tx:
                snap = self.snapshot(tx, snapshot_id)
                ticket.hold("snapshot", snap.id, Mode.EXCLUSIVE)
                if snap.group_snapshot_id:
                    raise FailedPrecondition(
                        f"{describe(snap)} belongs to group snapshot {snap.group_snapshot_id}"
                    )
                if snap.status not in DELETABLE_SNAPSHOT:
                    raise FailedPrecondition(f"{describe(snap)} is {snap.status}")
                require_unexported(tx, snap)
                patch(tx.snapshots, snap, status=SnapshotStatus.DELETING)
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
            raise self.failure(exc, f"{describe(obj)}: delete failed: {exc}") from exc
        forget(obj)
        log.info("deleted", object=describe(obj))
        self.notify()
