"""What the load test's clients were told, kept so that it can be checked.

Each client owns objects of its own and is the only one to change them: its `Ledger` says
exactly what they must look like. The shared volumes and groups are changed by every client at
once, so `Shared` keeps only what holds whatever the order: a shared volume's size is the largest
size an extend of it was answered OK for; and for each volume and group, the membership changes
answered OK alternate (add, remove, add, ...), so their counts say where the volume must be.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class OwnedVolume:
    id: str
    size: int
    group_id: str = ""
    #: Every snapshot of it, plain or of a group snapshot (a volume with any is not deletable).
    snapshots: set[str] = field(default_factory=set)


@dataclass(slots=True)
class OwnedGroup:
    id: str
    name: str
    description: str = ""
    members: set[str] = field(default_factory=set)
    group_snapshots: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class OwnedSnapshot:
    volume_id: str
    size: int


@dataclass(frozen=True, slots=True)
class OwnedGroupSnapshot:
    id: str
    group_id: str
    #: snapshot id -> the id of the volume it is a snapshot of
    snapshots: dict[str, str]


@dataclass(slots=True)
class Ledger:
    """One client's objects as it was told they are."""

    volumes: dict[str, OwnedVolume] = field(default_factory=dict)
    #: plain snapshots (of its own volumes or of shared ones)
    snapshots: dict[str, OwnedSnapshot] = field(default_factory=dict)
    groups: dict[str, OwnedGroup] = field(default_factory=dict)
    group_snapshots: dict[str, OwnedGroupSnapshot] = field(default_factory=dict)
    #: ids of objects it deleted (answered OK): they must stay gone
    gone: set[str] = field(default_factory=set)

    def free_volumes(self) -> list[OwnedVolume]:
        return [v for v in self.volumes.values() if not v.group_id]

    def deletable_volumes(self) -> list[OwnedVolume]:
        return [v for v in self.free_volumes() if not v.snapshots]

    def deletable_groups(self) -> list[OwnedGroup]:
        return [
            g
            for g in self.groups.values()
            if not g.group_snapshots and not any(self.volumes[m].snapshots for m in g.members)
        ]

    def add_volume(self, volume_id: str, size: int, group_id: str = "") -> None:
        self.volumes[volume_id] = OwnedVolume(volume_id, size, group_id)
        if group_id:
            self.groups[group_id].members.add(volume_id)

    def forget_volume(self, volume_id: str) -> None:
        self.volumes.pop(volume_id)
        self.gone.add(volume_id)

    def add_snapshot(self, snapshot_id: str, volume_id: str, size: int) -> None:
        self.snapshots[snapshot_id] = OwnedSnapshot(volume_id, size)
        if volume_id in self.volumes:
            self.volumes[volume_id].snapshots.add(snapshot_id)

    def forget_snapshot(self, snapshot_id: str) -> None:
        volume_id = self.snapshots.pop(snapshot_id).volume_id
        if volume_id in self.volumes:
            self.volumes[volume_id].snapshots.discard(snapshot_id)
        self.gone.add(snapshot_id)

    def add_group_snapshot(self, gsnap: OwnedGroupSnapshot) -> None:
        self.group_snapshots[gsnap.id] = gsnap
        if gsnap.group_id in self.groups:
            self.groups[gsnap.group_id].group_snapshots.add(gsnap.id)
        for snapshot_id, volume_id in gsnap.snapshots.items():
            if volume_id in self.volumes:
                self.volumes[volume_id].snapshots.add(snapshot_id)

    def forget_group_snapshot(self, gsnap_id: str) -> None:
        gsnap = self.group_snapshots.pop(gsnap_id)
        if gsnap.group_id in self.groups:
            self.groups[gsnap.group_id].group_snapshots.discard(gsnap_id)
        for snapshot_id, volume_id in gsnap.snapshots.items():
            if volume_id in self.volumes:
                self.volumes[volume_id].snapshots.discard(snapshot_id)
        self.gone.update({gsnap_id, *gsnap.snapshots})

    def forget_group(self, group_id: str) -> None:
        group = self.groups.pop(group_id)
        for member in group.members:
            self.forget_volume(member)
        self.gone.add(group_id)


class Shared:
    """The shared objects, what every client was told about them, and the run's findings."""

    def __init__(self, volumes: dict[str, int], groups: list[str]) -> None:
        self._lock = threading.Lock()
        self.volume_ids = list(volumes)
        self.group_ids = groups
        #: volume id -> the largest size it was answered OK for (initially its size)
        self.sizes = dict(volumes)
        #: volume id -> ("add" | "remove", group id) -> how many were answered OK
        self.moves: dict[str, Counter[tuple[str, str]]] = {v: Counter() for v in volumes}
        #: a name every client creates with the same arguments -> the ids they were answered
        self.common: dict[str, set[str]] = {}
        #: (operation, code name) -> how many answers
        self.tally: Counter[tuple[str, str]] = Counter()
        self.violations: list[str] = []

    def floor(self, volume_id: str) -> int:
        with self._lock:
            return self.sizes[volume_id]

    def extended(self, volume_id: str, size: int) -> None:
        with self._lock:
            self.sizes[volume_id] = max(self.sizes[volume_id], size)

    def moved(self, volume_id: str, change: str, group_id: str) -> None:
        with self._lock:
            self.moves[volume_id][(change, group_id)] += 1

    def created_common(self, name: str, object_id: str) -> None:
        with self._lock:
            self.common.setdefault(name, set()).add(object_id)

    def answered(self, operation: str, code: str) -> None:
        with self._lock:
            self.tally[(operation, code)] += 1

    def violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def expected_group(self, volume_id: str) -> str | None:
        """The group the answered membership changes leave the volume in ("" for none), or
        None when they cannot all have been true (a lost or a false update)."""
        moves = self.moves[volume_id]
        inside = []
        for group_id in self.group_ids:
            held = moves[("add", group_id)] - moves[("remove", group_id)]
            if held not in (0, 1):
                return None
            if held:
                inside.append(group_id)
        if len(inside) > 1:
            return None
        return inside[0] if inside else ""
