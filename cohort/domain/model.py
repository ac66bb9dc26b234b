"""Domain records. Plain dataclasses; the store maps them, the servicers translate them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

#: The group type that backs consistency groups (seed 003, "Migrate CGs to Generic Volume
#: Groups"). cohort creates it itself; nobody may edit or delete it.
CG_GROUP_TYPE_NAME = "default_cgsnapshot_type"
#: The spec key that makes a group (and its volume types) consistent (seed 003).
CONSISTENT_SPEC = "consistent_group_snapshot_enabled"


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


class VolumeStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    IN_USE = "in-use"
    EXTENDING = "extending"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"


class GroupStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    UPDATING = "updating"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"
    IN_USE = "in-use"


class SnapshotStatus(StrEnum):
    """Status of a snapshot and of a group snapshot."""

    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"


@dataclass(slots=True)
class VolumeType:
    name: str
    description: str = ""
    extra_specs: dict[str, str] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)


@dataclass(slots=True)
class GroupType:
    name: str
    description: str = ""
    group_specs: dict[str, str] = field(default_factory=dict)
    reserved: bool = False
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)


@dataclass(slots=True)
class Volume:
    name: str
    size_bytes: int
    volume_type_id: str
    status: VolumeStatus = VolumeStatus.CREATING
    description: str = ""
    group_id: str | None = None
    source_volume_id: str | None = None
    source_snapshot_id: str | None = None
    #: The block device through which the volume is used (its gate), set by the backend.
    device_path: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass(slots=True)
class Snapshot:
    name: str
    volume_id: str
    size_bytes: int
    status: SnapshotStatus = SnapshotStatus.CREATING
    description: str = ""
    group_snapshot_id: str | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


class FreezePath(StrEnum):
    """How a group's image was taken: under a freeze of every member's gate, or member by
    member with no freeze (a plain group: Cinder's generic volume groups document promises no
    consistency for it)."""

    FREEZE = "freeze"
    PLAIN = "plain"


@dataclass(frozen=True, slots=True)
class FreezeRecord:
    """What a group snapshot (or a clone of a group) records of the way its image was taken.
    `window_seconds`: from the first gate suspended to the last resumed (0 on the plain path);
    `stalls`: per member volume id, how long its gate was suspended."""

    path: FreezePath
    window_seconds: float = 0.0
    stalls: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Group:
    """A generic volume group; a consistency group when its type is the reserved CG type."""

    name: str
    group_type_id: str
    volume_type_ids: list[str]
    status: GroupStatus = GroupStatus.CREATING
    description: str = ""
    #: Both the group type and every volume type enable consistent group snapshots (seed 003).
    consistent: bool = False
    source_group_id: str | None = None
    group_snapshot_id: str | None = None
    #: How the image of the source group was taken (a clone of a group only).
    freeze: FreezeRecord | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass(slots=True)
class GroupSnapshot:
    name: str
    group_id: str
    group_type_id: str
    status: SnapshotStatus = SnapshotStatus.CREATING
    description: str = ""
    consistent: bool = False
    freeze: FreezeRecord | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


class OperationState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    ROLLED_BACK = "rolled_back"


class StepState(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    REVERTED = "reverted"


@dataclass(slots=True)
class StepRecord:
    """One backend step of an operation, journaled before it runs. `action` and `params` are
    enough for the backend to undo it after a crash (Backend.revert)."""

    seq: int
    action: str
    params: dict[str, str]
    state: StepState = StepState.PLANNED


@dataclass(slots=True)
class Operation:
    """A multi-step operation in the journal. Creates roll back (every recorded step reverted,
    newest first); deletes roll forward (the backend delete is re-run, it is idempotent)."""

    kind: str
    subject_id: str
    steps: list[StepRecord] = field(default_factory=list)
    state: OperationState = OperationState.RUNNING
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
