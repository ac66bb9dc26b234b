"""Optional persistence: the pool saved after every change, loaded at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cohort.domain.model import Snapshot
from cohort.sim import SimBackend, state
from tests.held import Hold, proceeds_while_held
from tests.recorder import Recorder

from .helpers import MiB, make_group, make_group_snapshot, make_volume, snapshots_of


def test_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "sub" / "pool.json"
    sim = SimBackend.from_config({"capacity_bytes": 1 << 30, "state_file": str(state)})
    volume = make_volume(sim, 8 * MiB)
    sim.write(volume.id, 5, b"persist me")
    snapshot = Snapshot(name="s", volume_id=volume.id, size_bytes=volume.size_bytes)
    sim.create_snapshot(snapshot, volume)
    sim.write(volume.id, 5, b"newer data")
    group = make_group()
    sim.create_group(group)
    gs = make_group_snapshot(group)
    group_snapshots = snapshots_of([volume], gs)
    sim.create_group_snapshot(gs, group_snapshots, Recorder())
    assert state.exists()
    assert [p.name for p in state.parent.iterdir()] == ["pool.json"]  # no temp files left

    again = SimBackend(1 << 30, state_file=state)
    assert again.volume_ids() == {volume.id}
    assert again.snapshot_ids() == {snapshot.id, group_snapshots[0].id}
    assert again.has_group(group.id)
    assert again.read(volume.id, 5, 10) == b"newer data"
    assert again.read(snapshot.id, 5, 10) == b"persist me"
    assert again.stats() == sim.stats()

    # and the restarted pool keeps working and saving
    again.write(volume.id, 0, b"!")
    again.delete_snapshot(snapshot)
    third = SimBackend(1 << 30, state_file=state)
    assert third.read(volume.id, 0, 1) == b"!"
    assert third.snapshot_ids() == {group_snapshots[0].id}
    assert third.allocated_bytes() == again.allocated_bytes()


def test_revert_and_deletes_are_saved(tmp_path: Path) -> None:
    state = tmp_path / "pool.json"
    sim = SimBackend(1 << 30, state_file=state)
    volume = make_volume(sim)
    journal = Recorder()
    gs = make_group_snapshot(make_group())
    sim.create_group_snapshot(gs, snapshots_of([volume], gs), journal)
    journal.rollback(sim)
    sim.delete_volume(volume)
    reloaded = SimBackend(1 << 30, state_file=state)
    assert reloaded.volume_ids() == set() and reloaded.snapshot_ids() == set()
    assert reloaded.allocated_bytes() == 0


def test_no_file_until_the_first_change(tmp_path: Path) -> None:
    state = tmp_path / "pool.json"
    SimBackend(1 << 30, state_file=state).stats()
    assert not state.exists()


@pytest.mark.parametrize(
    "content", ["not json", "{}", json.dumps({"version": 99}), json.dumps({"version": 1})]
)
def test_unreadable_state_is_a_clear_error(tmp_path: Path, content: str) -> None:
    state = tmp_path / "pool.json"
    state.write_text(content)
    with pytest.raises(ValueError, match="state file"):
        SimBackend(1 << 30, state_file=state)


def test_the_file_is_written_outside_the_pool_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one change's state file write is held, reads of the pool complete."""
    sim = SimBackend(1 << 30, state_file=tmp_path / "pool.json")
    volume = make_volume(sim)
    hold, write = Hold(), state.write

    def held_write(path: Path, text: str) -> None:
        hold.here()
        write(path, text)

    monkeypatch.setattr(state, "write", held_write)
    read: list[bytes] = []

    def meanwhile() -> None:
        sim.stats()
        sim.inventory()
        read.append(sim.read(volume.id, 0, 1))

    proceeds_while_held(hold, lambda: sim.write(volume.id, 0, b"x"), meanwhile)
    assert read == [b"x"]
    assert SimBackend(1 << 30, state_file=tmp_path / "pool.json").read(volume.id, 0, 1) == b"x"
