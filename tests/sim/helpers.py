"""Shared helpers for the simulated backend's tests."""

from __future__ import annotations

from cohort.domain.model import Group, GroupSnapshot, Snapshot, Volume
from cohort.sim import SimBackend

MiB = 1 << 20


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
