"""The contract for one volume or snapshot at a time, pool figures and sizes (see suite.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cohort.domain.model import Volume
from cohort.errors import BackendError, NotFound, ResourceExhausted

from .harness import Harness, MiB, snapshot_of, volume

GiB = 1024 * MiB


def made(h: Harness, size: int = 8 * MiB) -> Volume:
    v = volume(size)
    v.device_path = h.backend.create_volume(v).device_path
    return v


def backend_error(exc: BaseException) -> bool:
    """A backend failure proper: not a claim that the request named nothing."""
    return isinstance(exc, BackendError) and not isinstance(exc, NotFound)


class VolumeContract:
    def test_round_size_is_a_rounding_up(self, harness: Harness) -> None:
        b = harness.backend
        sizes = [1, MiB, 4 * MiB, 4 * MiB + 1, 10 * MiB + 1, GiB, GiB + 1]
        rounded = [b.round_size(n) for n in sizes]
        for n, r in zip(sizes, rounded, strict=True):
            assert r >= n and b.round_size(r) == r
        assert rounded == sorted(rounded)

    def test_create_volume_holds_the_rounded_size(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness, 10 * MiB + 1)
        assert v.device_path
        assert harness.size(v) == b.round_size(v.size_bytes)
        assert b.inventory()[v.id] == "volume"

    def test_create_again_with_the_same_arguments_is_the_same_volume(
        self, harness: Harness
    ) -> None:
        v = made(harness)
        if harness.data:
            harness.write(v, 0, b"kept")
        assert harness.backend.create_volume(v).device_path == v.device_path
        assert harness.size(v) == harness.backend.round_size(v.size_bytes)
        if harness.data:
            assert harness.read(v, 0, 4) == b"kept"

    def test_create_again_with_another_size_is_refused(self, harness: Harness) -> None:
        v = made(harness)
        if harness.data:
            harness.write(v, 0, b"kept")
        with pytest.raises(BackendError) as ei:
            harness.backend.create_volume(volume(2 * v.size_bytes, id=v.id))
        assert backend_error(ei.value) and v.id in str(ei.value)
        assert harness.size(v) == harness.backend.round_size(v.size_bytes)
        assert harness.backend.inventory()[v.id] == "volume"
        if harness.data:
            assert harness.read(v, 0, 4) == b"kept"

    def test_extend(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness)
        if harness.data:
            harness.write(v, 0, b"kept")
        b.extend_volume(v, 20 * MiB + 1)
        assert harness.size(v) == b.round_size(20 * MiB + 1)
        b.extend_volume(v, 20 * MiB + 1)  # a retry: nothing to do
        assert harness.size(v) == b.round_size(20 * MiB + 1)
        with pytest.raises(BackendError) as ei:
            b.extend_volume(v, 8 * MiB)
        assert backend_error(ei.value) and v.id in str(ei.value)
        assert harness.size(v) == b.round_size(20 * MiB + 1)
        if harness.data:
            assert harness.read(v, 0, 4) == b"kept"

    def test_delete_volume_is_idempotent(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness)
        b.delete_volume(v)
        b.delete_volume(v)
        b.delete_volume(volume())  # never made
        assert v.id not in b.inventory()

    def test_snapshot_and_clones(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness)
        if harness.data:
            harness.write(v, 0, b"before")
        s = snapshot_of(v)
        b.create_snapshot(s, v)
        b.create_snapshot(s, v)  # a retry: the same snapshot
        if harness.data:
            harness.write(v, 0, b"after!")
        from_snapshot = volume(16 * MiB, source_snapshot_id=s.id)
        from_snapshot.device_path = b.create_volume_from_snapshot(from_snapshot, s).device_path
        clone = volume(v.size_bytes, source_volume_id=v.id)
        clone.device_path = b.create_cloned_volume(clone, v).device_path
        assert harness.size(from_snapshot) == b.round_size(16 * MiB)
        assert harness.size(clone) == harness.size(v)
        held = b.inventory()
        assert held[s.id] == "snapshot"
        assert held[v.id] == held[from_snapshot.id] == held[clone.id] == "volume"
        if harness.data:
            assert harness.read(from_snapshot, 0, 6) == b"before"
            assert harness.read(clone, 0, 6) == b"after!"
            harness.write(clone, 0, b"clone!")
            assert harness.read(v, 0, 6) == b"after!"

    def test_snapshot_again_of_another_volume_is_refused(self, harness: Harness) -> None:
        b = harness.backend
        v, other = made(harness), made(harness)
        s = snapshot_of(v)
        b.create_snapshot(s, v)
        with pytest.raises(BackendError) as ei:
            b.create_snapshot(snapshot_of(other, id=s.id), other)
        assert backend_error(ei.value) and s.id in str(ei.value)
        assert b.inventory()[s.id] == "snapshot"

    def test_clone_again_of_another_source_is_refused(self, harness: Harness) -> None:
        b = harness.backend
        v, other = made(harness), made(harness)
        if harness.data:
            harness.write(v, 0, b"source")
        clone = volume(v.size_bytes, source_volume_id=v.id)
        b.create_cloned_volume(clone, v)
        with pytest.raises(BackendError) as ei:
            b.create_cloned_volume(
                volume(v.size_bytes, id=clone.id, source_volume_id=other.id), other
            )
        assert backend_error(ei.value) and clone.id in str(ei.value)
        assert b.inventory()[clone.id] == "volume"
        if harness.data:
            assert harness.read(clone, 0, 6) == b"source"

    def test_delete_snapshot_is_idempotent(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness)
        s = snapshot_of(v)
        b.create_snapshot(s, v)
        b.delete_snapshot(s)
        b.delete_snapshot(s)
        b.delete_snapshot(snapshot_of(v))  # never made
        assert s.id not in b.inventory() and v.id in b.inventory()

    def test_a_snapshot_device_is_made_once_released_and_made_again(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness)
        s = snapshot_of(v)
        b.create_snapshot(s, v)
        path = b.snapshot_device(s)
        assert path and path != v.device_path
        assert b.snapshot_device(s) == path
        b.release_snapshot_device(s)
        b.release_snapshot_device(s)
        assert b.snapshot_device(s) == path  # after a reboot, say
        b.delete_snapshot(s)  # a device left behind does not keep it
        b.release_snapshot_device(s)
        assert s.id not in b.inventory() and v.id in b.inventory()
        with pytest.raises(BackendError) as ei:
            b.snapshot_device(s)
        assert backend_error(ei.value) and s.id in str(ei.value)

    def test_a_missing_source_is_a_backend_error(self, harness: Harness) -> None:
        b = harness.backend
        ghost = volume()
        s = snapshot_of(ghost)
        attempts: list[Callable[[], object]] = [
            lambda: b.create_snapshot(s, ghost),
            lambda: b.create_cloned_volume(volume(source_volume_id=ghost.id), ghost),
            lambda: b.create_volume_from_snapshot(volume(source_snapshot_id=s.id), s),
            lambda: b.extend_volume(ghost, 16 * MiB),
        ]
        before = b.inventory()
        for attempt in attempts:
            with pytest.raises(BackendError) as ei:
                attempt()
            assert backend_error(ei.value)
        assert b.inventory() == before

    def test_a_full_pool_refuses_every_new_allocation(self, harness: Harness) -> None:
        b = harness.backend
        v = made(harness)
        s = snapshot_of(v)
        b.create_snapshot(s, v)
        harness.fill()
        before = b.inventory()
        attempts: list[Callable[[], object]] = [
            lambda: b.create_volume(volume()),
            lambda: b.create_snapshot(snapshot_of(v), v),
            lambda: b.create_cloned_volume(volume(source_volume_id=v.id), v),
            lambda: b.create_volume_from_snapshot(volume(source_snapshot_id=s.id), s),
            lambda: b.extend_volume(v, 2 * v.size_bytes),
        ]
        for attempt in attempts:
            with pytest.raises(ResourceExhausted):
                attempt()
        assert b.inventory() == before
        assert harness.size(v) == b.round_size(v.size_bytes)
        b.delete_snapshot(s)  # deleting frees room: never refused
        b.delete_volume(v)
        assert v.id not in b.inventory() and s.id not in b.inventory()

    def test_stats(self, harness: Harness) -> None:
        b = harness.backend
        before = b.stats()
        assert before.pool_name and before.thin
        assert 0 <= before.free_bytes <= before.total_bytes and before.total_bytes > 0
        v = made(harness)
        s = snapshot_of(v)
        b.create_snapshot(s, v)
        after = b.stats()
        assert after.total_volumes == before.total_volumes + 1
        # provisioned: every volume and every snapshot, at its full size
        assert after.provisioned_bytes == before.provisioned_bytes + 2 * harness.size(v)
        b.delete_snapshot(s)
        b.delete_volume(v)
        assert b.stats().provisioned_bytes == before.provisioned_bytes
