"""Consistent group snapshots and clones of a group on the LVM backend (fake runner): the images
are taken under a freeze of the members' gates, one command at a time through one session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import pytest

from cohort.domain.model import FreezePath, Group, GroupSnapshot, Snapshot
from cohort.errors import Busy, FailedPrecondition
from cohort.freeze.fakes import FakeGates, LocalGuard
from cohort.freeze.protocol import Freeze, NoHooks
from cohort.lvm.backend import LvmBackend
from cohort.lvm.freeze import LvmFreeze
from tests.recorder import Recorder

from .fakes import FakeSystem
from .helpers import GiB, vol


class FakeSession:
    """One command at a time into the fake system, remembering what ran when."""

    def __init__(self, fake: FakeSystem, gates: FakeGates, log: list[object]) -> None:
        self.fake, self.gates, self.log = fake, gates, log

    def __enter__(self) -> FakeSession:
        self.log.append("session started")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.log.append("session closed")

    def command(self, argv: Sequence[str], timeout: float | None = None) -> object:
        self.log.append((argv[0], frozenset(self.gates.suspended)))
        return self.fake._shell(" ".join(argv))


@pytest.fixture
def gates() -> FakeGates:
    return FakeGates()


@pytest.fixture
def log() -> list[object]:
    return []


@pytest.fixture
def frozen(fake: FakeSystem, tmp_path: Path, gates: FakeGates, log: list[object]) -> LvmBackend:
    freezer = Freeze(gates, LocalGuard(gates), 60.0, NoHooks())
    b = LvmBackend(fake, "vg0", "pool", lvm_dir=tmp_path / "lvm", freezer=freezer)
    b.start()
    assert b.freeze is not None
    b.freeze = LvmFreeze(
        b.lvm,
        b.gates,
        freezer,
        fake.recorder,
        lock_dir=tmp_path,
        session=lambda: FakeSession(fake, gates, log),
    )
    return b


def group_snapshot(consistent: bool) -> GroupSnapshot:
    return GroupSnapshot(name="gs", group_id="g", group_type_id="t", consistent=consistent)


def test_consistent_group_snapshot_under_the_freeze(
    frozen: LvmBackend, gates: FakeGates, log: list[object], fake: FakeSystem
) -> None:
    vols = [vol() for _ in range(4)]
    for v in vols:
        frozen.create_volume(v)
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    model, _ = frozen.create_group_snapshot(group_snapshot(True), snaps, Recorder())
    assert model is not None and model.freeze is not None
    assert model.freeze.path is FreezePath.FREEZE
    assert set(model.freeze.stalls) == {v.id for v in vols}
    ids = {v.id for v in vols}
    # warmed before any gate is suspended; each snapshot with the gates not yet thawed frozen
    assert log[0] == "session started"
    assert log[1] == ("lvs", frozenset())
    for number, entry in enumerate(log[2:6]):
        assert entry == ("lvcreate", frozenset(v.id for v in vols[number:]))
    assert log[6] == "session closed"
    assert gates.suspended == set()
    assert [op for op, _ in gates.events[:4]] == ["suspend"] * 4
    assert {v for _, v in gates.events} == ids
    for s in snaps:
        assert f"_snapshot-{s.id}" in fake.lvs
    assert fake.backups == 1  # after the thaw
    assert stats_consistent(frozen)


def stats_consistent(b: LvmBackend) -> bool:
    return b.stats().consistent_group_snapshot


def test_plain_group_snapshot_takes_the_plain_path(
    frozen: LvmBackend, gates: FakeGates, fake: FakeSystem
) -> None:
    vols = [vol() for _ in range(2)]
    for v in vols:
        frozen.create_volume(v)
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB) for v in vols]
    model, _ = frozen.create_group_snapshot(group_snapshot(False), snaps, Recorder())
    assert model is not None and model.freeze is not None
    assert model.freeze.path is FreezePath.PLAIN
    assert gates.events == []
    assert len(fake.batches[-1]) == 2


def test_consistent_clone_of_a_group_under_the_freeze(
    frozen: LvmBackend, gates: FakeGates, log: list[object], fake: FakeSystem
) -> None:
    srcs = [vol() for _ in range(3)]
    for v in srcs:
        frozen.create_volume(v)
    new = [vol(2 * GiB, source_volume_id=s.id) for s in srcs]
    group = Group(name="g", group_type_id="t", volume_type_ids=["t"], consistent=True)
    model, members = frozen.create_group_from_src(
        group, new, Recorder(), source_group=group, source_vols=srcs
    )
    assert model is not None and model.freeze is not None
    assert model.freeze.path is FreezePath.FREEZE
    assert set(model.freeze.stalls) == {s.id for s in srcs}
    creates = [e for e in log if isinstance(e, tuple) and e[0] == "lvcreate"]
    assert len(creates) == 3 and all(e[1] for e in creates)
    for v in new:
        lv = fake.lvs[f"volume-{v.id}"]
        assert lv.size == 2 * GiB
    assert [m.device_path for m in members or []] == [
        f"/dev/mapper/cohort-gate-{v.id}" for v in new
    ]


def test_no_gate_reload_while_frozen(frozen: LvmBackend) -> None:
    v = vol()
    frozen.create_volume(v)
    with frozen.gates.holding([v.id]), pytest.raises(Busy, match="frozen"):
        frozen.extend_volume(v, 2 * GiB)


def test_without_a_freeze_consistent_images_are_refused(backend: LvmBackend) -> None:
    v = vol()
    backend.create_volume(v)
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=GiB)]
    journal = Recorder()
    with pytest.raises(FailedPrecondition, match="freeze"):
        backend.create_group_snapshot(group_snapshot(True), snaps, journal)
    assert journal.recorded == []
    assert not backend.stats().consistent_group_snapshot
