"""The group methods: journal steps, answers, revert, and the consistency of group snapshots."""

from __future__ import annotations

import threading

import pytest

from cohort.domain.backend import MemberUpdate, ModelUpdate, Step
from cohort.domain.model import Volume
from cohort.errors import BackendError, FailedPrecondition, ResourceExhausted
from cohort.sim import SimBackend, device_path
from tests.recorder import Recorder

from .helpers import MiB, make_group, make_group_snapshot, make_volume, snapshots_of


def test_create_group_and_update_group(sim: SimBackend) -> None:
    group = make_group()
    assert sim.create_group(group) == ModelUpdate(status="available")
    assert sim.has_group(group.id)
    a, b = make_volume(sim), make_volume(sim)
    model, added, removed = sim.update_group(group, [a], [b])
    assert model is not None and model.status == "available"
    assert added == [MemberUpdate(id=a.id)]
    assert removed == [MemberUpdate(id=b.id)]


def test_update_group_refuses_a_volume_the_pool_lacks(sim: SimBackend) -> None:
    group = make_group()
    ghost = Volume(name="ghost", size_bytes=MiB, volume_type_id="t")
    with pytest.raises(BackendError, match=ghost.id):
        sim.update_group(group, [ghost], [])


def test_group_snapshot_records_one_step_per_member(sim: SimBackend, journal: Recorder) -> None:
    volumes = [make_volume(sim, name=f"v{i}") for i in range(3)]
    for i, v in enumerate(volumes):
        sim.write(v.id, 0, f"data{i}".encode())
    group_snapshot = make_group_snapshot(make_group())
    snapshots = snapshots_of(volumes, group_snapshot)

    model, members = sim.create_group_snapshot(group_snapshot, snapshots, journal)

    assert model is not None and model.status == "available"
    assert members == [MemberUpdate(id=s.id, status="available") for s in snapshots]
    assert journal.recorded == journal.done
    assert journal.recorded == [
        Step("sim.create_snapshot", {"snapshot_id": s.id}) for s in snapshots
    ]
    for i, s in enumerate(snapshots):
        assert sim.read(s.id, 0, 5) == f"data{i}".encode()


def test_consistent_group_snapshot_needs_the_capability(journal: Recorder) -> None:
    sim = SimBackend(1 << 30, consistent_group_snapshot=False)
    assert not sim.stats().consistent_group_snapshot
    volume = make_volume(sim)
    group_snapshot = make_group_snapshot(make_group(consistent=True))
    with pytest.raises(FailedPrecondition, match=group_snapshot.id):
        sim.create_group_snapshot(group_snapshot, snapshots_of([volume], group_snapshot), journal)
    assert journal.recorded == []
    # a group without consistency can still be snapshotted
    plain = make_group_snapshot(make_group(consistent=False))
    sim.create_group_snapshot(plain, snapshots_of([volume], plain), journal)


def test_group_snapshot_member_without_volume_fails(sim: SimBackend, journal: Recorder) -> None:
    volumes = [make_volume(sim), make_volume(sim)]
    group_snapshot = make_group_snapshot(make_group())
    snapshots = snapshots_of(volumes, group_snapshot)
    sim.delete_volume(volumes[1])
    with pytest.raises(BackendError, match=volumes[1].id):
        sim.create_group_snapshot(group_snapshot, snapshots, journal)
    # the backend does not clean up: the first snapshot stays until the journal is rolled back
    assert sim.has_snapshot(snapshots[0].id)
    journal.rollback(sim)
    assert sim.snapshot_ids() == set()


def test_delete_group_snapshot(sim: SimBackend, journal: Recorder) -> None:
    volumes = [make_volume(sim), make_volume(sim)]
    group_snapshot = make_group_snapshot(make_group())
    snapshots = snapshots_of(volumes, group_snapshot)
    sim.create_group_snapshot(group_snapshot, snapshots, Recorder())
    model, members = sim.delete_group_snapshot(group_snapshot, snapshots, journal)
    assert model is not None and model.status == "deleted"
    assert members == [MemberUpdate(id=s.id, status="deleted") for s in snapshots]
    assert journal.done == [Step("sim.delete_snapshot", {"snapshot_id": s.id}) for s in snapshots]
    assert sim.snapshot_ids() == set()
    # idempotent
    sim.delete_group_snapshot(group_snapshot, snapshots, Recorder())


def test_delete_group_deletes_its_volumes(sim: SimBackend, journal: Recorder) -> None:
    group = make_group()
    sim.create_group(group)
    volumes = [make_volume(sim), make_volume(sim)]
    model, members = sim.delete_group(group, volumes, journal)
    assert model is not None and model.status == "deleted"
    assert members == [MemberUpdate(id=v.id, status="deleted") for v in volumes]
    assert journal.done == [Step("sim.delete_volume", {"volume_id": v.id}) for v in volumes]
    assert sim.volume_ids() == set()
    assert not sim.has_group(group.id)
    sim.delete_group(group, volumes, Recorder())  # idempotent


def _clone_targets(
    group_id: str, sources: list[Volume], *, from_snapshots: list[str] | None
) -> list[Volume]:
    targets: list[Volume] = []
    for i, source in enumerate(sources):
        target = Volume(name=f"n{i}", size_bytes=source.size_bytes, volume_type_id="t")
        target.group_id = group_id
        if from_snapshots is not None:
            target.source_snapshot_id = from_snapshots[i]
        else:
            target.source_volume_id = source.id
        targets.append(target)
    return targets


def test_create_group_from_group_snapshot(sim: SimBackend, journal: Recorder) -> None:
    volumes = [make_volume(sim, name=f"v{i}") for i in range(2)]
    for i, v in enumerate(volumes):
        sim.write(v.id, 7, f"src{i}".encode())
    source_group = make_group()
    group_snapshot = make_group_snapshot(source_group)
    snapshots = snapshots_of(volumes, group_snapshot)
    sim.create_group_snapshot(group_snapshot, snapshots, Recorder())
    for v in volumes:
        sim.write(v.id, 7, b"late")

    group = make_group()
    targets = _clone_targets(group.id, volumes, from_snapshots=[s.id for s in snapshots])
    model, members = sim.create_group_from_src(
        group, targets, journal, group_snapshot=group_snapshot, snapshots=snapshots
    )
    assert model is not None and model.status == "available"
    assert members == [
        MemberUpdate(id=t.id, status="available", device_path=device_path(t.id)) for t in targets
    ]
    assert journal.recorded == [
        Step("sim.create_group", {"group_id": group.id}),
        *(Step("sim.create_volume", {"volume_id": t.id}) for t in targets),
    ]
    for i, t in enumerate(targets):
        assert sim.read(t.id, 7, 4) == f"src{i}".encode()
    assert sim.has_group(group.id)


def test_create_group_from_source_group(sim: SimBackend, journal: Recorder) -> None:
    source_group = make_group()
    volumes = [make_volume(sim, name=f"v{i}") for i in range(2)]
    for i, v in enumerate(volumes):
        sim.write(v.id, 0, f"live{i}".encode())
    group = make_group()
    targets = _clone_targets(group.id, volumes, from_snapshots=None)
    sim.create_group_from_src(
        group, targets, journal, source_group=source_group, source_vols=volumes
    )
    for i, t in enumerate(targets):
        assert sim.read(t.id, 0, 5) == f"live{i}".encode()


def test_a_group_clone_beyond_the_provisioning_limit_is_resource_exhausted(
    journal: Recorder,
) -> None:
    sim = SimBackend(1 << 30, max_provisioned_bytes=24 * MiB)
    source_group = make_group()
    volumes = [make_volume(sim, name=f"v{i}") for i in range(2)]
    group = make_group()
    targets = _clone_targets(group.id, volumes, from_snapshots=None)
    with pytest.raises(ResourceExhausted, match=targets[1].id) as info:
        sim.create_group_from_src(group, targets, journal, source_group=source_group)
    assert type(info.value) is ResourceExhausted  # not flattened into a BackendError
    journal.rollback(sim)
    assert sim.volume_ids() == {v.id for v in volumes} and not sim.has_group(group.id)


def test_create_group_from_src_needs_exactly_one_source(sim: SimBackend, journal: Recorder) -> None:
    group = make_group()
    with pytest.raises(BackendError, match=group.id):
        sim.create_group_from_src(group, [], journal)
    assert journal.recorded == []


def test_revert_undoes_creation_steps_idempotently(sim: SimBackend, journal: Recorder) -> None:
    volumes = [make_volume(sim)]
    group_snapshot = make_group_snapshot(make_group())
    snapshots = snapshots_of(volumes, group_snapshot)
    sim.create_group_snapshot(group_snapshot, snapshots, journal)
    group = make_group()
    targets = _clone_targets(group.id, volumes, from_snapshots=[snapshots[0].id])
    sim.create_group_from_src(group, targets, journal, group_snapshot=group_snapshot)
    before = len(sim.volume_ids())
    for _ in range(2):
        journal.rollback(sim)
        assert sim.snapshot_ids() == set()
        assert not sim.has_group(group.id)
        assert len(sim.volume_ids()) == before - 1
    # a step that never ran reverts cleanly too
    sim.revert(Step("sim.create_snapshot", {"snapshot_id": "never-made"}))
    sim.revert(Step("sim.create_volume", {"volume_id": "never-made"}))
    sim.revert(Step("sim.create_group", {"group_id": "never-made"}))


def test_revert_of_deletes_does_nothing(sim: SimBackend) -> None:
    volume = make_volume(sim)
    sim.revert(Step("sim.delete_volume", {"volume_id": volume.id}))
    sim.revert(Step("sim.delete_snapshot", {"snapshot_id": "x"}))
    assert sim.has_volume(volume.id)


def test_revert_rejects_unknown_or_incomplete_steps(sim: SimBackend) -> None:
    with pytest.raises(BackendError, match=r"lvm\.create"):
        sim.revert(Step("lvm.create", {}))
    with pytest.raises(BackendError, match="snapshot_id"):
        sim.revert(Step("sim.create_snapshot", {}))


def test_group_snapshot_is_write_order_consistent(sim: SimBackend) -> None:
    """A writer writes sequence numbers round-robin across the members; a consistent group
    snapshot must hold exactly the writes 1..S for some S."""
    volumes = [make_volume(sim, 4 * MiB, f"v{i}") for i in range(4)]
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            volume = volumes[n % len(volumes)]
            sim.write(volume.id, 0, n.to_bytes(8, "big"))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(20):
            group_snapshot = make_group_snapshot(make_group())
            snapshots = snapshots_of(volumes, group_snapshot)
            sim.create_group_snapshot(group_snapshot, snapshots, Recorder())
            seen = sorted(int.from_bytes(sim.read(s.id, 0, 8), "big") for s in snapshots)
            latest = seen[-1]
            # the last write of each member must be one of the last len(volumes) writes
            if latest >= len(volumes):
                assert seen == list(range(latest - len(volumes) + 1, latest + 1))
    finally:
        stop.set()
        thread.join()


def test_a_group_of_a_thousand_in_one_journal_batch_per_call(sim: SimBackend) -> None:
    """Every group call records its members' steps in one batch (no recursion per member)."""
    volumes = [make_volume(sim, name=f"v{i}") for i in range(1000)]
    group = make_group(consistent=False)
    group_snapshot = make_group_snapshot(group)
    snapshots = snapshots_of(volumes, group_snapshot)
    targets = []
    for s in snapshots:
        target = Volume(name="n", size_bytes=s.size_bytes, volume_type_id="t")
        target.source_snapshot_id = s.id
        targets.append(target)
    journals = [Recorder() for _ in range(4)]
    sim.create_group_snapshot(group_snapshot, snapshots, journals[0])
    sim.create_group_from_src(group, targets, journals[1], group_snapshot=group_snapshot)
    sim.delete_group_snapshot(group_snapshot, snapshots, journals[2])
    sim.delete_group(group, targets, journals[3])
    counts = [(j.batches, len(j.recorded), len(j.done)) for j in journals]
    assert counts == [(1, 1000, 1000), (1, 1001, 1001), (1, 1000, 1000), (1, 1000, 1000)]
    assert sim.volume_ids() == {v.id for v in volumes} and sim.snapshot_ids() == set()
