"""`LvmGroups`: the group operations on the thin pool of `LvmVolumes`.

- Create-from-source and group snapshots run their LVM commands as one batch through one `lvm`
  process (`cohort.lvm.shell`); every member's step is recorded in the journal (one commit for
  the whole batch) before the batch runs, and `revert` undoes any of them idempotently.
- Deletes journal their members' steps in one batch too, then delete member by member.
- Consistent group snapshots are refused (FailedPrecondition) until the freeze issue lands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from cohort.domain.backend import (
    GroupResult,
    MemberUpdate,
    ModelUpdate,
    Step,
    StepRecorder,
    UpdateGroupResult,
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
from cohort.lvm import names
from cohort.lvm.errors import ObjectNotFound, edge
from cohort.lvm.shell import run_batch
from cohort.lvm.volumes import (
    ACTION_CREATE_SNAPSHOT,
    ACTION_CREATE_VOLUME,
    ACTION_DELETE_SNAPSHOT,
    ACTION_DELETE_VOLUME,
    LvmVolumes,
)

T = TypeVar("T")


class LvmGroups(LvmVolumes):
    """See the module docstring."""

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
        steps = [Step(ACTION_DELETE_VOLUME, self._params(volume_id=v.id)) for v in volumes]
        journal.run_batch(steps, _for_each(volumes, self.delete_volume))
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
        with edge(f"group {group.id}"):
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
            journal.run_batch(steps, lambda: run_batch(self.runner, commands))
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
        with edge(f"group snapshot {group_snapshot.id}"):
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
            journal.run_batch(steps, lambda: run_batch(self.runner, commands))
        members = [MemberUpdate(id=s.id, status=SnapshotStatus.AVAILABLE) for s in snapshots]
        return ModelUpdate(status=SnapshotStatus.AVAILABLE), members

    def delete_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        steps = [Step(ACTION_DELETE_SNAPSHOT, self._params(snapshot_id=s.id)) for s in snapshots]
        journal.run_batch(steps, _for_each(snapshots, self.delete_snapshot))
        members = [MemberUpdate(id=s.id, status=SnapshotStatus.DELETED) for s in snapshots]
        return ModelUpdate(status=SnapshotStatus.DELETED), members


def _for_each(items: Sequence[T], fn: Callable[[T], None]) -> Callable[[], None]:
    """A batch's work: `fn` on every item, in order."""

    def run() -> None:
        for item in items:
            fn(item)

    return run
