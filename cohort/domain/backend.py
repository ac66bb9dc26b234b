"""The backend contract: seed 003's six group methods plus the volume and snapshot methods.

The manager (cohort.manager) calls these and turns their answers into statuses exactly as the
seeds describe. A backend raises on failure (any exception is "the driver raised"), or returns
model updates: `model_update` for the group / group snapshot, and per-member updates keyed by id.
Returning None for an update means "no update" with the meaning the seeds give each method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from cohort.domain.model import FreezeRecord, Group, GroupSnapshot, Snapshot, Volume

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ModelUpdate:
    """The driver's `model_update` for a group or group snapshot: {'status': ...}. `freeze`:
    how a group snapshot's (or a clone of a group's) image was taken, set by the backend."""

    status: str | None = None
    freeze: FreezeRecord | None = None


@dataclass(frozen=True, slots=True)
class MemberUpdate:
    """One entry of volumes_model_update / snapshots_model_update: {'id': ..., 'status': ...}.
    `device_path` is set by backends for volumes they created."""

    id: str
    status: str | None = None
    device_path: str | None = None


@dataclass(frozen=True, slots=True)
class VolumeUpdate:
    """What a volume create returns: where the volume can be used."""

    device_path: str = ""


GroupResult = tuple[ModelUpdate | None, list[MemberUpdate] | None]
UpdateGroupResult = tuple[ModelUpdate | None, list[MemberUpdate] | None, list[MemberUpdate] | None]


@dataclass(frozen=True, slots=True)
class Step:
    """An undoable backend step: `action` names it, `params` carry what undoing needs."""

    action: str
    params: dict[str, str] = field(default_factory=dict)


class StepRecorder(Protocol):
    """The journal as a backend sees it. `run_batch` records every step of a batch (in one
    commit) before calling `fn`, and marks them all done (in one commit) after `fn` returned; a
    crash or an exception in between leaves them recorded and not done, so each is reverted
    (creations) or re-run (deletions) whether or not `fn` got to it: a backend's `revert` and
    deletes are idempotent. Backends call it for every batch of steps that leave something
    behind, one batch per backend call however many members it has."""

    def run_batch(self, steps: Sequence[Step], fn: Callable[[], T]) -> T: ...


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Raw figures of the backend's pool; cohort.domain.capabilities derives Cinder's stats."""

    pool_name: str
    total_bytes: int
    free_bytes: int
    provisioned_bytes: int
    total_volumes: int
    data_percent: float = 0.0
    metadata_percent: float = 0.0
    thin: bool = True
    consistent_group_snapshot: bool = False
    backend_state: str = "up"
    location_info: str = ""


class Backend(Protocol):
    """A storage backend. All methods may block; the manager never holds its lock across them.

    What every backend answers alike (checked by the contract suite, tests/contract/suite.py):
    a create of an id the backend holds is a retry when its arguments (size, source) are the
    same, and answers that object; with other arguments it raises BackendError and leaves the
    object as it is. Something the backend does not hold (a source, an origin, a volume to
    extend or add) is a BackendError, never cohort.errors.NotFound. A full pool refuses every
    new allocation with ResourceExhausted before making anything; deletes are never refused.
    """

    name: str
    """volume_backend_name reported upstream."""

    def round_size(self, size_bytes: int) -> int:
        """The size the backend will allocate for a request of size_bytes (extent rounding).
        Pure: no I/O, no lock (the manager calls it inside its transactions)."""
        ...

    def stats(self) -> PoolStats:
        """provisioned_bytes: every volume and every snapshot at its full size."""
        ...

    # -- volumes and snapshots -------------------------------------------------------------
    def create_volume(self, volume: Volume) -> VolumeUpdate: ...

    def create_volume_from_snapshot(self, volume: Volume, snapshot: Snapshot) -> VolumeUpdate: ...

    def create_cloned_volume(self, volume: Volume, source: Volume) -> VolumeUpdate: ...

    def extend_volume(self, volume: Volume, new_size_bytes: int) -> None:
        """To the size it has: nothing to do (a retry). Smaller: BackendError (never shrinks)."""
        ...

    def delete_volume(self, volume: Volume) -> None:
        """Idempotent: a volume the backend does not have is deleted already."""
        ...

    def create_snapshot(self, snapshot: Snapshot, volume: Volume) -> None:
        """A snapshot id held already of another volume: BackendError."""
        ...

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        """Idempotent, like delete_volume."""
        ...

    def snapshot_device(self, snapshot: Snapshot) -> str:
        """A read-only block device of the snapshot, for its export; made if missing (also
        after a reboot). Idempotent: the same path while it exists."""
        ...

    def release_snapshot_device(self, snapshot: Snapshot) -> None:
        """Remove the snapshot's read-only device; idempotent. The snapshot stays deletable
        after it (and a delete removes a device left behind)."""
        ...

    # -- seed 003's group methods ----------------------------------------------------------
    def create_group(self, group: Group) -> ModelUpdate | None: ...

    def delete_group(
        self, group: Group, volumes: Sequence[Volume], journal: StepRecorder
    ) -> GroupResult: ...

    def update_group(
        self, group: Group, add_volumes: Sequence[Volume], remove_volumes: Sequence[Volume]
    ) -> UpdateGroupResult: ...

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
        """Each new volume names its source in source_snapshot_id or source_volume_id; the
        member updates carry each new volume's device_path. All members or none: on failure it
        raises, and reverting the recorded steps leaves none of the new volumes. A consistent
        group cloned from a source group on a pool without consistent group snapshots:
        FailedPrecondition, before any step is recorded."""
        ...

    def create_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        """When group_snapshot.consistent, write-order consistent across the members; on a pool
        without consistent group snapshots (PoolStats.consistent_group_snapshot) that is
        FailedPrecondition, before any step is recorded. All members or none: on failure it
        raises, and reverting the recorded steps leaves no member's snapshot."""
        ...

    def delete_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult: ...

    def inventory(self) -> dict[str, str]:
        """{cohort id: "volume" | "snapshot"} of everything the backend holds for cohort; the
        manager reconciles its store against it at start-up."""
        ...

    # -- the journal -----------------------------------------------------------------------
    def revert(self, step: Step) -> None:
        """Undo a recorded step. Idempotent: the step may not have run, or run only in part.
        Reverting a deletion does nothing (deletes roll forward); an unknown action is a
        BackendError."""
        ...
