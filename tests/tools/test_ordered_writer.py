"""The ordered writer and its checker, on regular files (no direct I/O: tmpfs may refuse it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cohort.tools.ordered_blocks import BLOCK, Block, Layout, encode
from cohort.tools.ordered_check import check, judge
from cohort.tools.ordered_writer import Latency, main, write_ordered

SLOTS = 16


def devices(tmp_path: Path, count: int, slots: int = SLOTS) -> list[str]:
    paths = []
    for i in range(count):
        path = tmp_path / f"dev{i}"
        with open(path, "wb") as f:
            f.truncate(slots * BLOCK)
        paths.append(str(path))
    return paths


def image_after(layout: Layout, last: int, run_id: int = 7) -> list[list[bytes]]:
    """What the devices hold after writes 1..last."""
    image = [[bytes(BLOCK)] * layout.slots for _ in range(layout.devices)]
    buffer = bytearray(BLOCK)
    for seq in range(1, last + 1):
        device, slot = layout.place(seq)
        encode(Block(run_id, seq, device, layout.devices, layout.slots), memoryview(buffer))
        image[device][slot] = bytes(buffer)
    return image


def test_latest_at_matches_replaying_the_writes() -> None:
    layout = Layout(3, 4)
    for last in range(0, 40):
        seen: dict[tuple[int, int], int] = {}
        for seq in range(1, last + 1):
            seen[layout.place(seq)] = seq
        for device in range(3):
            for slot in range(4):
                assert layout.latest_at(device, slot, last) == seen.get((device, slot), 0)


@pytest.mark.parametrize("count", [1, 5, 3 * SLOTS, 3 * SLOTS * 2 + 5])
def test_written_image_is_consistent(tmp_path: Path, count: int) -> None:
    paths = devices(tmp_path, 3)
    summary = write_ordered(paths, slots=SLOTS, count=count, direct=False)
    assert summary.writes == count and not summary.direct
    verdict = check(paths, SLOTS)
    assert verdict.consistent, verdict
    assert verdict.last == verdict.prefix == count
    assert verdict.run_id == summary.run_id


def test_a_second_run_on_the_same_devices_starts_from_clear_slots(tmp_path: Path) -> None:
    """Devices reused by another run (a long one that wrapped around) hold only the new run's
    blocks: each run clears its slots before its first write."""
    paths = devices(tmp_path, 3)
    write_ordered(paths, slots=SLOTS, count=3 * SLOTS * 2 + 5, direct=False)
    summary = write_ordered(paths, slots=SLOTS, count=4, direct=False)
    verdict = check(paths, SLOTS)
    assert verdict.consistent, verdict
    assert verdict.last == 4 and verdict.run_id == summary.run_id


def test_a_device_behind_the_others_is_torn() -> None:
    layout = Layout(3, SLOTS)
    image = image_after(layout, 21)
    image[1] = image_after(layout, 10)[1]  # device 1 copied before writes 11..21
    verdict = judge(image, SLOTS)
    assert not verdict.consistent and verdict.last == 21
    assert [h.expected for h in verdict.listed_holes] == [11, 14, 17, 20]
    assert {h.device for h in verdict.listed_holes} == {1}
    assert verdict.prefix == 10 and verdict.holes == 4 and not verdict.problems


def test_a_device_ahead_of_the_others_is_torn() -> None:
    layout = Layout(3, SLOTS)
    image = image_after(layout, 10)
    image[2] = image_after(layout, 30)[2]
    verdict = judge(image, SLOTS)
    assert not verdict.consistent and verdict.last == 30 and verdict.prefix == 10


def test_wrapped_image_torn_on_an_overwritten_slot() -> None:
    layout = Layout(2, 2)
    image = image_after(layout, 9)  # slots hold 5..9 (writes 1..4 overwritten)
    image[0] = image_after(layout, 6)[0]  # device 0 misses writes 7 and 9: S is 8
    verdict = judge(image, 2)
    assert not verdict.consistent and verdict.last == 8
    assert [(h.expected, h.found) for h in verdict.listed_holes] == [(7, 3)]


def test_foreign_or_broken_blocks_are_problems() -> None:
    layout = Layout(2, SLOTS)
    image = image_after(layout, 8)
    image[0][0] = b"x" + image[0][0][1:]  # no magic
    assert judge(image, SLOTS).problems
    image = image_after(layout, 8)
    block = bytearray(image[1][1])
    block[-1] ^= 1  # checksum
    image[1][1] = bytes(block)
    assert "checksum" in judge(image, SLOTS).problems[0]
    image = image_after(layout, 8)
    image[1][3] = image_after(layout, 8, run_id=8)[1][3]
    assert judge(image, SLOTS).problems == ["blocks of 2 runs"]
    swapped = image_after(layout, 8)[::-1]  # devices given in the wrong order
    verdict = judge(swapped, SLOTS)
    assert not verdict.consistent and "belongs at" in verdict.problems[0]


def test_stop_event_and_duration_end_the_run(tmp_path: Path) -> None:
    paths = devices(tmp_path, 2)
    stop = threading.Event()
    stop.set()
    assert write_ordered(paths, slots=SLOTS, stop=stop).writes == 0
    summary = write_ordered(paths, slots=SLOTS, duration=0.05)
    assert summary.writes > 0 and summary.latency.max >= summary.latency.p50 > 0
    assert check(paths, SLOTS).consistent


def test_latency_percentiles() -> None:
    figures = Latency.of([i / 1000 for i in range(1, 1001)])
    assert figures.max == 1.0 and figures.p50 == 0.501 and figures.p99 == 0.991
    assert Latency.of([]).max == 0.0


def test_command_line_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = devices(tmp_path, 4, slots=8)
    progress = tmp_path / "progress.json"
    argv = ["--slots", "8", "--no-direct", *paths]
    assert main(["write", "--count", "50", "--progress", str(progress), *argv]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["writes"] == 50 and summary["devices"] == paths
    state = json.loads(progress.read_text())
    assert state["done"] == 50 and state["finished"] and state["run_id"] == summary["run_id"]
    assert main(["check", *argv]) == 0
    assert json.loads(capsys.readouterr().out)["last"] == 50
    with open(paths[0], "r+b") as f:  # lose write 45 (device 0, slot 3)
        f.seek(3 * BLOCK)
        f.write(bytes(BLOCK))
    assert main(["check", *argv]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["prefix"] == 44 and verdict["holes"] == 1
