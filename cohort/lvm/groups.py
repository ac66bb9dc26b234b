"""`LvmGroups`: the group operations on the thin pool of `LvmVolumes`.

- Create-from-source and group snapshots run their LVM commands as one batch through one `lvm`
  process (`cohort.lvm.shell`); every member's step is recorded in the journal (one commit for
  the whole batch) before the batch runs, and `revert` undoes any of them idempotently.
- Deletes journal their members' steps in one batch too, then delete member by member.
- A consistent group snapshot, and a consistent group cloned from a source group, take their
  images under a freeze of the members' gates (`cohort.lvm.freeze`); a plain group takes the
  plain path (one batch, no freeze). The group snapshot records which path it took. Without a
  freeze configured the backend reports no consistent group snapshots and refuses them
  (FailedPrecondition) before anything is recorded.
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
    FreezePath,
    FreezeRecord,
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
from cohort.lvm.freeze import LvmFreeze
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

    def _batch(self, commands: Sequence[Sequence[str]]) -> None:
        with self.lvm.writer.shared():
            run_batch(self.runner, commands)

    def _frozen(self, consistent: bool, what: str) -> LvmFreeze | None:
        """The freeze to take a group's image under: None for a plain group (or when a test
        hook switches the freeze off); refused when the group needs one and none is set up."""
        if not consistent:
            return None
        if self.freeze is None:
            raise FailedPrecondition(
                f"{what}: this backend has no freeze guard configured, so it takes no "
                "consistent group snapshots"
            )
        return None if self.freeze.freezer.hooks.freeze_off() else self.freeze

    def _images(
        self,
        freeze: LvmFreeze | None,
        subject_id: str,
        images: Sequence[tuple[str, list[str]]],
        journal: StepRecorder,
        steps: Sequence[Step],
    ) -> FreezeRecord:
        """Take (origin volume id, lvcreate argv) images, journaled as `steps`: under one
        freeze, or as one plain batch."""
        if freeze is None:
            journal.run_batch(steps, lambda: self._batch([argv for _, argv in images]))
            return FreezeRecord(FreezePath.PLAIN)
        return journal.run_batch(steps, lambda: freeze.snapshots(subject_id, images))

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
        freeze = self._frozen(group.consistent and source_group is not None, f"group {group.id}")
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
            images: list[tuple[str, list[str]]] = []
            for volume, source_lv in sources:
                if source_lv not in lvs:
                    raise ObjectNotFound(f"source {self.lvm.full(source_lv)} does not exist")
                lv_name = names.volume_lv(volume.id)
                if lv_name not in lvs:
                    argv = self.lvm.snapshot_argv(
                        lv_name, source_lv, volume.id, writable=True, fast=freeze is not None
                    )
                    images.append((volume.source_volume_id or volume.id, argv))
            self._check_room()
            record = self._images(freeze, group.id, images, journal, steps)
            updates = self._finish_clones(volumes)
        model = ModelUpdate(status=GroupStatus.AVAILABLE)
        if source_group is not None:
            model = ModelUpdate(status=GroupStatus.AVAILABLE, freeze=record)
        return model, updates

    def _finish_clones(self, volumes: Sequence[Volume]) -> list[MemberUpdate]:
        """After the images: grow each new volume to its size, activate it, give it a gate."""
        grow = []
        lvs = {lv.name: lv for lv in self.lvm.lvs()}
        for volume in volumes:
            lv = lvs.get(names.volume_lv(volume.id))
            if lv is None:
                raise ObjectNotFound(f"volume {volume.id}: its LV vanished after creation")
            size = self.round_size(volume.size_bytes)
            if size > lv.size:
                grow.append(self.lvm.extend_argv(lv.name, size))
            if not lv.attr.active:
                grow.append(self.lvm.activate_argv(lv.name))
        self._batch(grow)
        lvs = {lv.name: lv for lv in self.lvm.lvs()} if grow else lvs
        updates = []
        for volume in volumes:
            path = self._ensure_gate(volume.id, lvs[names.volume_lv(volume.id)])
            updates.append(
                MemberUpdate(id=volume.id, status=VolumeStatus.AVAILABLE, device_path=path)
            )
        return updates

    def create_group_snapshot(
        self, group_snapshot: GroupSnapshot, snapshots: Sequence[Snapshot], journal: StepRecorder
    ) -> GroupResult:
        freeze = self._frozen(group_snapshot.consistent, f"group snapshot {group_snapshot.id}")
        steps = [Step(ACTION_CREATE_SNAPSHOT, self._params(snapshot_id=s.id)) for s in snapshots]
        with edge(f"group snapshot {group_snapshot.id}"):
            lvs = {lv.name: lv for lv in self.lvm.lvs()}
            images: list[tuple[str, list[str]]] = []
            for snap in snapshots:
                origin = lvs.get(names.volume_lv(snap.volume_id))
                if origin is None:
                    raise ObjectNotFound(f"volume {snap.volume_id} has no LV")
                lv_name = names.snapshot_lv(snap.id)
                if lv_name not in lvs:
                    argv = self.lvm.snapshot_argv(
                        lv_name, origin.name, snap.id, writable=False, fast=True
                    )
                    images.append((snap.volume_id, argv))
            self._check_room()
            record = self._images(freeze, group_snapshot.id, images, journal, steps)
        members = [MemberUpdate(id=s.id, status=SnapshotStatus.AVAILABLE) for s in snapshots]
        return ModelUpdate(status=SnapshotStatus.AVAILABLE, freeze=record), members

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
