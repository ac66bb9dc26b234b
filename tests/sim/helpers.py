"""Shared helpers for the simulated backend's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cohort.domain.backend import Step
from cohort.domain.model import Group, GroupSnapshot, Snapshot, Volume
from cohort.sim import SimBackend

T = TypeVar("T")
MiB = 1 << 20


class Recorder:
    """A journal as the manager keeps it: a step is recorded before it runs, marked done after."""

    def __init__(self) -> None:
        self.recorded: list[Step] = []
        self.done: list[Step] = []

    def run(self, step: Step, fn: Callable[[], T]) -> T:
        self.recorded.append(step)
        result = fn()
        self.done.append(step)
        return result

    def rollback(self, sim: SimBackend) -> None:
        for step in reversed(self.recorded):
            sim.revert(step)


def make_volume(sim: SimBackend, size: int = 8 * MiB, name: str = "v") -> Volume:
    volume = Volume(name=name, size_bytes=size, volume_type_id="t")
    update = sim.create_volume(volume)
    volume.device_path = update.device_path
    return volume


def make_group(consistent: bool = True) -> Group:
    return Group(name="g", group_type_id="gt", volume_type_ids=["t"], consistent=consistent)


def make_group_snapshot(group: Group) -> GroupSnapshot:
    return GroupSnapshot(
        name="gs", group_id=group.id, group_type_id="gt", consistent=group.consistent
    )


def snapshots_of(volumes: list[Volume], group_snapshot: GroupSnapshot) -> list[Snapshot]:
    return [
        Snapshot(
            name=f"s{i}",
            volume_id=v.id,
            size_bytes=v.size_bytes,
            group_snapshot_id=group_snapshot.id,
        )
        for i, v in enumerate(volumes)
    ]
