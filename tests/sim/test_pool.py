"""The simulated pool: sizes, content, thin snapshots and clones, capacity, stats."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.domain.model import Snapshot, Volume
from cohort.errors import BackendError, ResourceExhausted
from cohort.sim import CHUNK_BYTES, EXTENT_BYTES, SimBackend, device_path

from .helpers import MiB, make_volume


def test_round_size_is_whole_extents(sim: SimBackend) -> None:
    assert 4 * MiB == EXTENT_BYTES
    assert sim.round_size(1) == 4 * MiB
    assert sim.round_size(4 * MiB) == 4 * MiB
    assert sim.round_size(4 * MiB + 1) == 8 * MiB


def test_create_volume_rounds_and_reports_device_path(sim: SimBackend) -> None:
    volume = Volume(name="v", size_bytes=5 * MiB, volume_type_id="t")
    update = sim.create_volume(volume)
    assert update.device_path == f"/dev/cohort-sim/{volume.id}" == device_path(volume.id)
    assert sim.volume_size(volume.id) == 8 * MiB
    stats = sim.stats()
    assert stats.provisioned_bytes == 8 * MiB
    assert stats.total_volumes == 1
    assert stats.total_bytes == 1 << 30
    assert stats.free_bytes == 1 << 30  # thin: nothing written yet
    assert stats.thin and stats.consistent_group_snapshot


def test_create_volume_is_idempotent(sim: SimBackend) -> None:
    volume = make_volume(sim)
    sim.write(volume.id, 0, b"keep")
    assert sim.create_volume(volume).device_path == volume.device_path
    assert sim.read(volume.id, 0, 4) == b"keep"


def test_write_read_and_unwritten_zeros(sim: SimBackend) -> None:
    volume = make_volume(sim)
    sim.write(volume.id, CHUNK_BYTES - 2, b"abcd")  # spans two chunks
    assert sim.read(volume.id, CHUNK_BYTES - 4, 8) == b"\0\0abcd\0\0"
    assert sim.allocated_bytes() == 2 * CHUNK_BYTES
    with pytest.raises(BackendError, match=volume.id):
        sim.write(volume.id, volume.size_bytes - 1, b"xx")
    with pytest.raises(BackendError, match="nope"):
        sim.write("nope", 0, b"x")


def test_snapshot_keeps_its_content_copy_on_write(sim: SimBackend) -> None:
    volume = make_volume(sim)
    sim.write(volume.id, 0, b"before")
    snapshot = Snapshot(name="s", volume_id=volume.id, size_bytes=volume.size_bytes)
    sim.create_snapshot(snapshot, volume)
    assert sim.allocated_bytes() == CHUNK_BYTES  # shared with the origin
    sim.write(volume.id, 0, b"AFTER!")
    assert sim.read(snapshot.id, 0, 6) == b"before"
    assert sim.read(volume.id, 0, 6) == b"AFTER!"
    assert sim.allocated_bytes() == 2 * CHUNK_BYTES
    sim.delete_snapshot(snapshot)
    assert sim.allocated_bytes() == CHUNK_BYTES
    sim.delete_snapshot(snapshot)  # idempotent


def test_volume_from_snapshot_and_clone_carry_the_data(sim: SimBackend) -> None:
    volume = make_volume(sim)
    sim.write(volume.id, 100, b"payload")
    snapshot = Snapshot(name="s", volume_id=volume.id, size_bytes=volume.size_bytes)
    sim.create_snapshot(snapshot, volume)
    sim.write(volume.id, 100, b"changed")

    from_snap = Volume(name="a", size_bytes=12 * MiB, volume_type_id="t")
    assert sim.create_volume_from_snapshot(from_snap, snapshot).device_path.endswith(from_snap.id)
    assert sim.read(from_snap.id, 100, 7) == b"payload"
    assert sim.volume_size(from_snap.id) == 12 * MiB

    clone = Volume(name="c", size_bytes=1, volume_type_id="t")
    sim.create_cloned_volume(clone, volume)
    assert sim.read(clone.id, 100, 7) == b"changed"
    assert sim.volume_size(clone.id) == volume.size_bytes  # never smaller than its source

    sim.write(clone.id, 100, b"cloned!")
    assert sim.read(volume.id, 100, 7) == b"changed"


def test_missing_sources_are_backend_errors_naming_them(sim: SimBackend) -> None:
    ghost = Volume(name="ghost", size_bytes=MiB, volume_type_id="t")
    new = Volume(name="n", size_bytes=MiB, volume_type_id="t")
    with pytest.raises(BackendError, match=ghost.id):
        sim.create_cloned_volume(new, ghost)
    snap = Snapshot(name="s", volume_id=ghost.id, size_bytes=MiB)
    with pytest.raises(BackendError, match=snap.id):
        sim.create_volume_from_snapshot(new, snap)
    with pytest.raises(BackendError, match=ghost.id):
        sim.create_snapshot(snap, ghost)
    with pytest.raises(BackendError, match=ghost.id):
        sim.extend_volume(ghost, 8 * MiB)


def test_extend(sim: SimBackend) -> None:
    volume = make_volume(sim, 4 * MiB)
    sim.write(volume.id, 0, b"x")
    sim.extend_volume(volume, 9 * MiB)
    assert sim.volume_size(volume.id) == 12 * MiB
    assert sim.read(volume.id, 0, 1) == b"x"
    with pytest.raises(BackendError, match="shrink"):
        sim.extend_volume(volume, 4 * MiB)


def test_delete_volume_is_idempotent_and_frees_space(sim: SimBackend) -> None:
    volume = make_volume(sim)
    sim.write(volume.id, 0, b"x" * 1000)
    sim.delete_volume(volume)
    sim.delete_volume(volume)
    assert not sim.has_volume(volume.id)
    assert sim.stats().free_bytes == sim.capacity_bytes
    assert sim.stats().provisioned_bytes == 0


def test_thin_pool_overcommits_but_writes_run_out_of_space() -> None:
    sim = SimBackend(2 * CHUNK_BYTES)
    volume = make_volume(sim, 8 * MiB)  # larger than the pool: thin
    sim.write(volume.id, 0, b"a" * CHUNK_BYTES)
    sim.write(volume.id, CHUNK_BYTES, b"b")
    with pytest.raises(ResourceExhausted, match=volume.id):
        sim.write(volume.id, 4 * CHUNK_BYTES, b"c")
    # the failed write left nothing behind
    assert sim.read(volume.id, 4 * CHUNK_BYTES, 1) == b"\0"
    assert sim.stats().free_bytes == 0
    assert sim.allocated_bytes() == 2 * CHUNK_BYTES
    # overwriting an unshared chunk still fits
    sim.write(volume.id, 0, b"z")


def test_snapshot_overwrite_can_exhaust_the_pool() -> None:
    sim = SimBackend(2 * CHUNK_BYTES)
    volume = make_volume(sim)
    sim.write(volume.id, 0, b"a")
    sim.create_snapshot(Snapshot(name="s", volume_id=volume.id, size_bytes=0), volume)
    sim.write(volume.id, 0, b"b")  # the snapshot keeps "a": a second chunk
    assert sim.allocated_bytes() == 2 * CHUNK_BYTES
    with pytest.raises(ResourceExhausted):
        sim.write(volume.id, CHUNK_BYTES, b"c")
    # a full pool refuses new allocations, snapshots included
    with pytest.raises(ResourceExhausted):
        sim.create_snapshot(Snapshot(name="t", volume_id=volume.id, size_bytes=0), volume)


def test_max_provisioned_bytes() -> None:
    sim = SimBackend(1 << 30, max_provisioned_bytes=16 * MiB)
    first = make_volume(sim, 12 * MiB)
    with pytest.raises(ResourceExhausted):
        make_volume(sim, 8 * MiB)
    make_volume(sim, 4 * MiB)
    with pytest.raises(ResourceExhausted, match=first.id):
        sim.extend_volume(first, 16 * MiB)
    clone = Volume(name="c", size_bytes=MiB, volume_type_id="t")
    with pytest.raises(ResourceExhausted):
        sim.create_cloned_volume(clone, first)


def test_stats_follow_allocation() -> None:
    sim = SimBackend(100 * CHUNK_BYTES, pool_name="p1", name="be")
    volume = make_volume(sim)
    sim.write(volume.id, 0, b"x" * (10 * CHUNK_BYTES))
    stats = sim.stats()
    assert (stats.pool_name, sim.name) == ("p1", "be")
    assert stats.free_bytes == 90 * CHUNK_BYTES
    assert stats.data_percent == pytest.approx(10.0)
    assert stats.location_info == "sim:p1"


@settings(max_examples=40, deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 4 * CHUNK_BYTES), st.binary(min_size=1, max_size=3 * CHUNK_BYTES)),
        max_size=8,
    )
)
def test_writes_read_back_like_a_flat_buffer(writes: list[tuple[int, bytes]]) -> None:
    sim = SimBackend(1 << 30)
    volume = make_volume(sim, 4 * MiB)
    model = bytearray(8 * CHUNK_BYTES)
    for offset, data in writes:
        sim.write(volume.id, offset, data)
        model[offset : offset + len(data)] = data
    assert sim.read(volume.id, 0, len(model)) == bytes(model)
    touched = {i for i in range(8) if any(model[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES])}
    assert sim.allocated_bytes() <= (len(touched) + 8) * CHUNK_BYTES


def test_concurrent_writers_are_serialised(sim: SimBackend) -> None:
    volumes = [make_volume(sim, 4 * MiB, f"v{i}") for i in range(4)]

    def writer(index: int) -> None:
        for n in range(200):
            sim.write(volumes[index].id, (n % 16) * 16, n.to_bytes(2, "big"))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for v in volumes:
        for slot in range(16):
            last = max(n for n in range(200) if n % 16 == slot)
            assert sim.read(v.id, slot * 16, 2) == last.to_bytes(2, "big")
