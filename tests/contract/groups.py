"""The contract for groups, group snapshots, creates from source and the journal (see suite.py)."""

from __future__ import annotations

import pytest

from cohort.domain.backend import GroupResult, Step
from cohort.domain.model import Group, GroupSnapshot, Snapshot, Volume
from cohort.errors import BackendError, FailedPrecondition, ResourceExhausted

from .harness import Crash, Harness, Journal, MiB, group, group_snapshot_of, snapshot_of, volume
from .volumes import backend_error, made


def members(h: Harness, count: int) -> list[Volume]:
    """`count` volumes, each with its own bytes where the backend holds data."""
    vols = [made(h) for _ in range(count)]
    if h.data:
        for i, v in enumerate(vols):
            h.write(v, 0, f"member{i}".encode())
    return vols


def snapshot_group(
    h: Harness, vols: list[Volume], grp: Group | None = None
) -> tuple[GroupSnapshot, list[Snapshot]]:
    gs = group_snapshot_of(grp or group())
    snaps = [snapshot_of(v, gs) for v in vols]
    h.backend.create_group_snapshot(gs, snaps, Journal())
    return gs, snaps


def held(h: Harness, ids: list[str]) -> set[str]:
    inventory = h.backend.inventory()
    return {i for i in ids if i in inventory}


class GroupContract:
    def test_create_update_delete_group(self, harness: Harness) -> None:
        b = harness.backend
        grp = group()
        update = b.create_group(grp)
        assert update is None or update.status == "available"
        vols = members(harness, 2)
        model, added, removed = b.update_group(grp, vols, [])
        assert model is None or model.status == "available"
        assert added is None or {m.id for m in added} <= {v.id for v in vols}
        assert removed is None or not removed
        b.update_group(grp, [], vols[:1])
        journal = Journal()
        model, deleted = b.delete_group(grp, vols, journal)
        assert model is None or model.status == "deleted"
        assert deleted is None or {(m.id, m.status) for m in deleted} == {
            (v.id, "deleted") for v in vols
        }
        assert journal.settled() and len(journal.done) == len(vols)
        assert not held(harness, [v.id for v in vols])
        b.delete_group(grp, vols, Journal())  # again: nothing left to do

    def test_adding_a_missing_volume_to_a_group_fails(self, harness: Harness) -> None:
        b = harness.backend
        grp = group()
        b.create_group(grp)
        with pytest.raises(BackendError) as ei:
            b.update_group(grp, [made(harness), volume()], [])
        assert backend_error(ei.value)

    def test_group_snapshot_of_every_member(self, harness: Harness) -> None:
        b = harness.backend
        vols = members(harness, 2)
        gs = group_snapshot_of(group())
        snaps = [snapshot_of(v, gs) for v in vols]
        journal = Journal()
        model, done = b.create_group_snapshot(gs, snaps, journal)
        assert model is None or model.status == "available"
        assert done is None or [(m.id, m.status) for m in done] == [
            (s.id, "available") for s in snaps
        ]
        assert journal.settled() and journal.done
        assert {b.inventory()[s.id] for s in snaps} == {"snapshot"}

    @pytest.mark.parametrize("cause", ["member volume missing", "pool full"])
    def test_group_snapshot_failure_leaves_no_member_snapshot(
        self, harness: Harness, cause: str
    ) -> None:
        vols = members(harness, 2)
        if cause == "pool full":
            harness.fill()
        else:
            harness.backend.delete_volume(vols[1])
        gs = group_snapshot_of(group())
        snaps = [snapshot_of(v, gs) for v in vols]
        journal = Journal()
        expected = ResourceExhausted if cause == "pool full" else BackendError
        with pytest.raises(expected) as ei:
            harness.backend.create_group_snapshot(gs, snaps, journal)
        assert cause == "pool full" or backend_error(ei.value)
        journal.rollback(harness.backend)
        assert not held(harness, [s.id for s in snaps])

    @pytest.mark.parametrize("crash", ["before the first step", "after the first step"])
    def test_group_snapshot_rolled_back_after_a_crash(self, harness: Harness, crash: str) -> None:
        vols = members(harness, 2)
        gs = group_snapshot_of(group())
        snaps = [snapshot_of(v, gs) for v in vols]
        journal = Journal(**{"crash_before" if "before" in crash else "crash_after": 1})
        with pytest.raises(Crash):
            harness.backend.create_group_snapshot(gs, snaps, journal)
        journal.rollback(harness.backend)
        assert not held(harness, [s.id for s in snaps])
        assert held(harness, [v.id for v in vols]) == {v.id for v in vols}

    def test_consistent_group_snapshot_needs_the_capability(self, harness: Harness) -> None:
        b = harness.backend
        vols = members(harness, 2)
        gs = group_snapshot_of(group(consistent=True))
        snaps = [snapshot_of(v, gs) for v in vols]
        journal = Journal()
        if b.stats().consistent_group_snapshot:
            b.create_group_snapshot(gs, snaps, journal)
            assert held(harness, [s.id for s in snaps]) == {s.id for s in snaps}
            return
        with pytest.raises(FailedPrecondition):
            b.create_group_snapshot(gs, snaps, journal)
        assert journal.recorded == []
        assert not held(harness, [s.id for s in snaps])

    def test_delete_group_snapshot_is_idempotent(self, harness: Harness) -> None:
        b = harness.backend
        vols = members(harness, 2)
        gs, snaps = snapshot_group(harness, vols)
        journal = Journal()
        model, deleted = b.delete_group_snapshot(gs, snaps, journal)
        assert model is None or model.status == "deleted"
        assert deleted is None or {m.id for m in deleted} == {s.id for s in snaps}
        assert journal.settled() and len(journal.done) == len(snaps)
        assert not held(harness, [s.id for s in snaps])
        b.delete_group_snapshot(gs, snaps, Journal())
        journal.rollback(b)  # a delete cannot be undone: reverting it does nothing
        assert held(harness, [v.id for v in vols]) == {v.id for v in vols}

    def test_group_from_a_group_snapshot(self, harness: Harness) -> None:
        b = harness.backend
        vols = members(harness, 2)
        gs, snaps = snapshot_group(harness, vols)
        if harness.data:
            for v in vols:
                harness.write(v, 0, b"overwritten")
        new = [
            volume(8 * MiB, source_snapshot_id=snaps[0].id),
            volume(16 * MiB + 1, source_snapshot_id=snaps[1].id),
        ]
        journal = Journal()
        result = b.create_group_from_src(group(), new, journal, group_snapshot=gs, snapshots=snaps)
        self._check_created(harness, new, result, journal)

    def test_group_from_a_source_group(self, harness: Harness) -> None:
        b = harness.backend
        vols = members(harness, 2)
        source = group()
        new = [volume(v.size_bytes, source_volume_id=v.id) for v in vols]
        new[1].size_bytes = 12 * MiB
        journal = Journal()
        result = b.create_group_from_src(
            group(), new, journal, source_group=source, source_vols=vols
        )
        self._check_created(harness, new, result, journal)
        if harness.data:
            harness.write(new[0], 0, b"clone")
            assert harness.read(vols[0], 0, 7) == b"member0"

    @staticmethod
    def _check_created(
        h: Harness,
        new: list[Volume],
        result: GroupResult,
        journal: Journal,
    ) -> None:
        """Every new volume made at its rounded size, with its device path and its source's
        bytes (`members`), all steps done."""
        model, done = result
        assert model is None or model.status == "available"
        assert journal.settled() and journal.done
        for v in new:
            assert h.size(v) == h.backend.round_size(v.size_bytes)
            assert h.backend.inventory()[v.id] == "volume"
        assert done is not None
        paths = {m.id: m.device_path for m in done}
        assert set(paths) == {v.id for v in new} and all(paths.values())
        for i, v in enumerate(new):
            v.device_path = paths[v.id] or ""
            if h.data:
                assert h.read(v, 0, 7) == f"member{i}".encode()

    @pytest.mark.parametrize(
        "failure",
        [
            "source missing",
            "pool full",
            "crash before the first step",
            "crash after the first step",
        ],
    )
    def test_group_from_source_failure_rolled_back(self, harness: Harness, failure: str) -> None:
        b = harness.backend
        vols = members(harness, 2)
        gs, snaps = snapshot_group(harness, vols)
        new = [volume(source_snapshot_id=s.id) for s in snaps]
        journal = Journal(
            crash_before=1 if failure == "crash before the first step" else None,
            crash_after=1 if failure == "crash after the first step" else None,
        )
        expected: type[BaseException] = Crash
        if failure == "source missing":
            b.delete_snapshot(snaps[1])
            expected = BackendError
        elif failure == "pool full":
            harness.fill()
            expected = ResourceExhausted
        with pytest.raises(expected):
            b.create_group_from_src(group(), new, journal, group_snapshot=gs, snapshots=snaps)
        journal.rollback(b)
        assert not held(harness, [v.id for v in new])

    def test_group_rolled_back_after_it_was_made(self, harness: Harness) -> None:
        """What the manager does when a later step of the operation fails."""
        vols = members(harness, 2)
        new = [volume(source_volume_id=v.id) for v in vols]
        journal = Journal()
        harness.backend.create_group_from_src(
            group(), new, journal, source_group=group(), source_vols=vols
        )
        journal.rollback(harness.backend)
        assert not held(harness, [v.id for v in new])
        assert held(harness, [v.id for v in vols]) == {v.id for v in vols}

    def test_consistent_clone_of_a_group_needs_the_capability(self, harness: Harness) -> None:
        b = harness.backend
        vols = members(harness, 2)
        new = [volume(source_volume_id=v.id) for v in vols]
        journal = Journal()
        source = group(consistent=True)

        def call() -> object:
            return b.create_group_from_src(
                group(consistent=True), new, journal, source_group=source, source_vols=vols
            )

        if b.stats().consistent_group_snapshot:
            call()
            assert held(harness, [v.id for v in new]) == {v.id for v in new}
            return
        with pytest.raises(FailedPrecondition):
            call()
        assert journal.recorded == []

    def test_revert_of_an_unknown_step_fails(self, harness: Harness) -> None:
        with pytest.raises(BackendError):
            harness.backend.revert(Step("nobody.knows", {"volume_id": "x"}))
