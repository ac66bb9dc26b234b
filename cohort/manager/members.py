"""Applying a verdict's statuses to stored records."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

import structlog

from cohort.domain.model import Snapshot, SnapshotStatus, Volume, VolumeStatus, now
from cohort.domain.store import Repository

E = TypeVar("E", bound=StrEnum)
log = structlog.get_logger(__name__)


def coerce(enum: type[E], value: str, fallback: E) -> E:
    """A status a backend returned, as the enum; anything unknown counts as the fallback."""
    try:
        return enum(value)
    except ValueError:
        log.warning("backend returned an unknown status", status=value)
        return fallback


def apply_volumes(
    repo: Repository[Volume],
    volumes: Sequence[Volume],
    statuses: dict[str, str],
    device_paths: dict[str, str] | None = None,
) -> None:
    """Set each volume's status (only that, and its device path); `deleted` removes the row."""
    for volume in volumes:
        status = coerce(VolumeStatus, statuses.get(volume.id, "error"), VolumeStatus.ERROR)
        if status is VolumeStatus.DELETED:
            repo.remove(volume.id)
            continue
        volume.status = status
        volume.device_path = (device_paths or {}).get(volume.id, volume.device_path)
        volume.updated_at = now()
        repo.patch(
            volume.id,
            status=status,
            device_path=volume.device_path,
            updated_at=volume.updated_at,
        )


def apply_snapshots(
    repo: Repository[Snapshot], snapshots: Sequence[Snapshot], statuses: dict[str, str]
) -> None:
    for snap in snapshots:
        status = coerce(SnapshotStatus, statuses.get(snap.id, "error"), SnapshotStatus.ERROR)
        if status is SnapshotStatus.DELETED:
            repo.remove(snap.id)
            continue
        snap.status = status
        snap.updated_at = now()
        repo.patch(snap.id, status=status, updated_at=snap.updated_at)
