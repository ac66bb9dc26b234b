"""Applying a verdict's statuses to stored records."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

import structlog

from cohort.domain.model import (
    Group,
    GroupSnapshot,
    Snapshot,
    SnapshotStatus,
    Volume,
    VolumeStatus,
    now,
)
from cohort.domain.store import Repository

E = TypeVar("E", bound=StrEnum)
R = TypeVar("R", Volume, Snapshot, Group, GroupSnapshot)
log = structlog.get_logger(__name__)


def coerce(enum: type[E], value: str, fallback: E) -> E:
    """A status a backend returned, as the enum; anything unknown counts as the fallback."""
    try:
        return enum(value)
    except ValueError:
        log.warning("backend returned an unknown status", status=value)
        return fallback


def patch(repo: Repository[R], record: R, **changes: object) -> None:
    """Apply a call's own changes (and a new updated_at) to one stored record and to the
    caller's copy of it: never a whole row read before the backend call."""
    changes["updated_at"] = now()
    repo.patch(record.id, **changes)
    for attribute, value in changes.items():
        setattr(record, attribute, value)


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
        device_path = (device_paths or {}).get(volume.id, volume.device_path)
        patch(repo, volume, status=status, device_path=device_path)


def apply_snapshots(
    repo: Repository[Snapshot], snapshots: Sequence[Snapshot], statuses: dict[str, str]
) -> None:
    for snap in snapshots:
        status = coerce(SnapshotStatus, statuses.get(snap.id, "error"), SnapshotStatus.ERROR)
        if status is SnapshotStatus.DELETED:
            repo.remove(snap.id)
            continue
        patch(repo, snap, status=status)
