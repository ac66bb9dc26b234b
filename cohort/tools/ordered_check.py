"""The checker of the ordered writer's image (`python -m cohort.tools.ordered_writer check`).

An image of N devices is write-order consistent when it holds exactly the writes 1..S for some
S: every slot holds the last of 1..S that went to it (or nothing, if none did). Only S = the
highest sequence number found can fit (the last write is never overwritten), so the check
compares every slot against that prefix; a slot that holds an older write, or none, is a hole.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from cohort.tools.ordered_blocks import BLOCK, BadBlock, Block, Layout, decode, opened

#: Blocks read per call.
CHUNK = 256
#: At most this many holes and problems are listed (all are counted).
LISTED = 50


@dataclass(frozen=True, slots=True)
class Hole:
    device: int
    slot: int
    #: The write the prefix 1..S puts there.
    expected: int
    #: The write found there (0: none).
    found: int


@dataclass(slots=True)
class Verdict:
    consistent: bool = True
    #: The highest write found (the S of a consistent image).
    last: int = 0
    #: Every write 1..prefix is in the image (prefix == last when consistent).
    prefix: int = 0
    blocks: int = 0
    holes: int = 0
    listed_holes: list[Hole] = field(default_factory=list)
    #: Blocks that are not the writer's, not whole, from another run or in the wrong place.
    problems: list[str] = field(default_factory=list)
    run_id: int = 0

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def read_blocks(paths: Sequence[str], slots: int, direct: bool | None) -> list[list[bytes]]:
    """Every slot of every device, as bytes."""
    buffer = mmap.mmap(-1, CHUNK * BLOCK)  # page aligned, as O_DIRECT needs
    images: list[list[bytes]] = []
    try:
        with opened(paths, direct, write=False) as fds:
            for fd in fds:
                blocks: list[bytes] = []
                while len(blocks) < slots:
                    want = min(CHUNK, slots - len(blocks))
                    got = os.preadv(fd, [buffer], len(blocks) * BLOCK)
                    if got < want * BLOCK:
                        raise OSError(f"device too small for {slots} slots ({got} bytes read)")
                    blocks += [buffer[i * BLOCK : (i + 1) * BLOCK] for i in range(want)]
                images.append(blocks)
    finally:
        buffer.close()
    return images


def judge(images: Sequence[Sequence[bytes]], slots: int) -> Verdict:
    """The verdict on an image: `images[d][s]` is slot s of device d."""
    layout = Layout(len(images), slots)
    verdict = Verdict()
    found: dict[tuple[int, int], int] = {}
    runs: set[int] = set()
    for device, blocks in enumerate(images):
        for slot, data in enumerate(blocks):
            try:
                block = decode(data)
            except BadBlock as exc:
                verdict.problems.append(f"device {device} slot {slot}: {exc}")
                continue
            if block is None:
                continue
            runs.add(block.run_id)
            problem = _misplaced(block, layout, device, slot)
            if problem:
                verdict.problems.append(f"device {device} slot {slot}: {problem}")
                continue
            found[device, slot] = block.seq
    if len(runs) > 1:
        verdict.problems.append(f"blocks of {len(runs)} runs")
    verdict.run_id = min(runs, default=0)
    verdict.blocks = len(found)
    verdict.last = max(found.values(), default=0)
    missing: list[Hole] = []
    for device in range(layout.devices):
        for slot in range(slots):
            expected = layout.latest_at(device, slot, verdict.last)
            present = found.get((device, slot), 0)
            if present != expected:
                missing.append(Hole(device, slot, expected, present))
    missing.sort(key=lambda h: h.expected)
    verdict.holes = len(missing)
    verdict.listed_holes = missing[:LISTED]
    verdict.prefix = missing[0].expected - 1 if missing else verdict.last
    del verdict.problems[LISTED:]
    verdict.consistent = not missing and not verdict.problems
    return verdict


def _misplaced(block: Block, layout: Layout, device: int, slot: int) -> str:
    if (block.devices, block.slots) != (layout.devices, layout.slots):
        return f"written for {block.devices} devices of {block.slots} slots"
    if layout.place(block.seq) != (device, slot):
        return f"write {block.seq} belongs at {layout.place(block.seq)}"
    return ""


def check(paths: Sequence[str], slots: int, direct: bool | None = None) -> Verdict:
    """Read the devices (in the writer's order) and judge their image."""
    return judge(read_blocks(paths, slots, direct), slots)
