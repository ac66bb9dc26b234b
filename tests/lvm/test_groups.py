"""LvmBackend's group operations on the fake runner: batches, the journal, typed errors,
large groups, and what proceeds while a batch runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cohort.domain.model import Group, GroupSnapshot, Snapshot
from cohort.errors import Busy, FailedPrecondition, ResourceExhausted
from cohort.lvm import volumes as lvm_volumes
from cohort.lvm.backend import LvmBackend
from cohort.lvm.errors import NoSpace, ObjectNotFound
from cohort.lvm.run import Result
from cohort.lvm.shell import ShellBatchError
from tests.held import Hold, proceeds_while_held
from tests.recorder import Recorder

from .fakes import FakeSystem
from .helpers import GiB, vol


def test_group_snapshot_batched_and_journaled(backend: LvmBackend, fake: FakeSystem) -> None:
    vols = [vol() for _ in range(3)]
    for v in vols:
        backend.create_volume(v)
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t")
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    journal = Recorder()
    model, members = backend.create_group_snapshot(gs, snaps, journal)
    assert model is not None and model.status == "available"
    assert [m.id for m in members or []] == [s.id for s in snaps]
    (batch,) = fake.batches
    assert len(batch) == 3 and all("--ignoremonitoring" in c for c in batch)
    assert [s.action for s in journal.recorded] == [lvm_volumes.ACTION_CREATE_SNAPSHOT] * 3
    assert len(journal.done) == 3
    for s in snaps:
        assert f"_snapshot-{s.id}" in fake.lvs


def test_group_snapshot_consistent_refused(backend: LvmBackend) -> None:
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t", consistent=True)
    with pytest.raises(FailedPrecondition):
        backend.create_group_snapshot(gs, [], Recorder())


def test_group_snapshot_failure_then_revert(backend: LvmBackend, fake: FakeSystem) -> None:
    vols = [vol() for _ in range(3)]
    for v in vols:
        backend.create_volume(v)
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    bad = f"_snapshot-{snaps[1].id}"
    fake.fail = lambda argv: "  Insufficient free space" if bad in argv else None
    journal = Recorder()
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t")
    with pytest.raises(ResourceExhausted) as ei:
        backend.create_group_snapshot(gs, snaps, journal)
    assert isinstance(ei.value.__cause__, ShellBatchError)
    assert len(journal.recorded) == 3 and not journal.done
    for step in reversed(journal.recorded):
        backend.revert(step)
        backend.revert(step)
    assert not any(n.startswith("_snapshot-") for n in fake.lvs)


def test_group_from_source_batched(backend: LvmBackend, fake: FakeSystem) -> None:
    srcs = [vol() for _ in range(2)]
    for v in srcs:
        backend.create_volume(v)
    new = [vol(2 * GiB, source_volume_id=s.id) for s in srcs]
    group = Group(name="g", group_type_id="t", volume_type_ids=["t"])
    journal = Recorder()
    _model, members = backend.create_group_from_src(
        group, new, journal, source_group=group, source_vols=srcs
    )
    clones, grow = fake.batches
    assert [c[0] for c in clones] == ["lvcreate", "lvcreate"]
    assert [c[0] for c in grow] == ["lvextend", "lvextend"]
    assert [m.device_path for m in members or []] == [
        f"/dev/mapper/cohort-gate-{v.id}" for v in new
    ]
    for v in new:
        assert fake.lvs[f"volume-{v.id}"].size == 2 * GiB
    for step in journal.recorded:
        backend.revert(step)
    assert not any(f"volume-{v.id}" in fake.lvs for v in new)
    assert all(f"cohort-gate-{v.id}" not in fake.gates for v in new)


def test_delete_group_and_group_snapshot(backend: LvmBackend, fake: FakeSystem) -> None:
    vols = [vol() for _ in range(2)]
    for v in vols:
        backend.create_volume(v)
    group = Group(name="g", group_type_id="t", volume_type_ids=["t"])
    journal = Recorder()
    model, _members = backend.delete_group(group, vols, journal)
    assert model is not None and model.status == "deleted"
    assert [s.action for s in journal.recorded] == [lvm_volumes.ACTION_DELETE_VOLUME] * 2
    assert not any(n.startswith("volume-") for n in fake.lvs)
    for step in journal.recorded:
        backend.revert(step)  # deletes cannot be undone: no-op


def test_a_group_of_a_thousand_in_one_journal_batch_per_call(
    backend: LvmBackend, fake: FakeSystem
) -> None:
    """Every group call records its members' steps in one batch (no recursion per member)."""
    vols = [vol() for _ in range(1000)]
    for v in vols:
        fake._new_lv(f"volume-{v.id}", GiB, "Vwi-a-tz--", ["cohort", f"cohort_id_{v.id}"])
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t")
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    journals = [Recorder() for _ in range(4)]
    backend.create_group_snapshot(gs, snaps, journals[0])
    assert [len(b) for b in fake.batches] == [1000]
    group = Group(name="g", group_type_id="t", volume_type_ids=["t"])
    new = [vol(source_snapshot_id=s.id) for s in snaps]
    _model, members = backend.create_group_from_src(group, new, journals[1], group_snapshot=gs)
    assert len(members or []) == 1000
    backend.delete_group_snapshot(gs, snaps, journals[2])
    backend.delete_group(group, new, journals[3])
    assert [(j.batches, len(j.recorded), len(j.done)) for j in journals] == [(1, 1000, 1000)] * 4
    assert set(backend.inventory()) == {v.id for v in vols}


def _group_call(backend: LvmBackend, method: str) -> Callable[[], object]:
    """`method` over a group of two volumes (and their snapshots, made beforehand)."""
    vols = [vol() for _ in range(2)]
    for v in vols:
        backend.create_volume(v)
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t")
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    group = Group(name="g", group_type_id="t", volume_type_ids=["t"])
    if method == "create_group_snapshot":
        return lambda: backend.create_group_snapshot(gs, snaps, Recorder())
    backend.create_group_snapshot(gs, snaps, Recorder())
    if method == "create_group_from_src":
        new = [vol(source_snapshot_id=s.id) for s in snaps]
        return lambda: backend.create_group_from_src(group, new, Recorder(), group_snapshot=gs)
    if method == "delete_group_snapshot":
        return lambda: backend.delete_group_snapshot(gs, snaps, Recorder())
    assert method == "delete_group"
    return lambda: backend.delete_group(group, vols, Recorder())


NO_SPACE = "  Insufficient free space: 256 extents needed, but only 0 available"
IN_USE = "  Logical volume vg0/x in use."
DM_BUSY = "device-mapper: remove ioctl on x failed: Device or resource busy"


@pytest.mark.parametrize(
    ("method", "command", "stderr", "error"),
    [
        ("create_group_snapshot", ("lvm", "lvcreate"), NO_SPACE, NoSpace),
        ("create_group_from_src", ("lvm", "lvcreate"), NO_SPACE, NoSpace),
        ("create_group_from_src", ("dmsetup", "create"), DM_BUSY, Busy),
        ("delete_group_snapshot", ("lvm", "lvremove"), IN_USE, Busy),
        ("delete_group", ("lvm", "lvremove"), IN_USE, Busy),
        ("delete_group", ("dmsetup", "remove"), DM_BUSY, Busy),
    ],
)
def test_group_calls_keep_the_classified_error(
    backend: LvmBackend,
    fake: FakeSystem,
    method: str,
    command: tuple[str, str],
    stderr: str,
    error: type[Exception],
) -> None:
    """The error the adapter classified reaches the caller as it is, not flattened."""
    call = _group_call(backend, method)
    fake.fail = lambda argv: stderr if tuple(argv[:2]) == command else None
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error


@pytest.mark.parametrize("method", ["create_group_snapshot", "create_group_from_src"])
def test_group_creates_refuse_a_full_pool_with_no_space(
    backend: LvmBackend, fake: FakeSystem, method: str
) -> None:
    call = _group_call(backend, method)
    fake.data_percent = 95.0
    with pytest.raises(NoSpace):
        call()


def test_group_calls_keep_the_not_found_error(backend: LvmBackend, fake: FakeSystem) -> None:
    ghost = vol()
    group = Group(name="g", group_type_id="t", volume_type_ids=["t"])
    with pytest.raises(ObjectNotFound):
        backend.update_group(group, [ghost], [])
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t")
    with pytest.raises(ObjectNotFound):
        backend.create_group_snapshot(
            gs, [Snapshot(name="s", volume_id=ghost.id, size_bytes=GiB)], Recorder()
        )
    orphan = vol(source_snapshot_id=Snapshot(name="s", volume_id=ghost.id, size_bytes=GiB).id)
    with pytest.raises(ObjectNotFound):
        backend.create_group_from_src(group, [orphan], Recorder(), group_snapshot=gs)


def test_reads_and_other_changes_do_not_wait_for_a_group_batch(
    backend: LvmBackend, fake: FakeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group snapshot's batch is held inside its `lvm` process; meanwhile stats, the inventory
    and changes to other volumes complete (each runs its own command; no lock of cohort's)."""
    vols = [vol() for _ in range(2)]
    for v in vols:
        backend.create_volume(v)
    gs = GroupSnapshot(name="g", group_id="g1", group_type_id="t")
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    hold, shell = Hold(), fake._shell

    def held_shell(text: str) -> Result:
        hold.here()
        return shell(text)

    monkeypatch.setattr(fake, "_shell", held_shell)
    other = vol()

    def meanwhile() -> None:
        backend.stats()
        backend.inventory()
        backend.create_volume(other)
        backend.extend_volume(vols[0], 2 * GiB)

    proceeds_while_held(
        hold, lambda: backend.create_group_snapshot(gs, snaps, Recorder()), meanwhile
    )
    assert all(f"_snapshot-{s.id}" in fake.lvs for s in snaps)
    assert fake.lvs[f"volume-{other.id}"].size == GiB
    assert fake.lvs[f"volume-{vols[0].id}"].size == 2 * GiB
