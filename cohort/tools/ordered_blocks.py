"""The on-disk format and layout shared by the ordered writer and its checker.

Write number `seq` (1, 2, 3, ...) goes to device `(seq - 1) % N`, into slot
`((seq - 1) // N) % slots` of that device (a slot is one BLOCK-byte block at `slot * BLOCK`), so
slots are overwritten once the writer wraps. Each block holds a header (magic, the run's id, the
sequence number, the device index, N, the slot count) and a CRC-32 of the whole block; the rest is
filled with a byte derived from the sequence number.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

BLOCK = 4096
MAGIC = b"COHORTOW"
#: magic, run id, seq, device index, device count, slots per device; then the CRC-32 (of the
#: block with the CRC field zeroed).
_HEADER = struct.Struct("<8sQQIII")
_CRC = struct.Struct("<I")
_CRC_AT = _HEADER.size


@dataclass(frozen=True, slots=True)
class Layout:
    devices: int
    slots: int

    def __post_init__(self) -> None:
        if self.devices < 1 or self.slots < 1:
            raise ValueError(f"a layout needs devices and slots: {self}")

    def place(self, seq: int) -> tuple[int, int]:
        """(device index, slot) of write `seq` (1-based)."""
        n = seq - 1
        return n % self.devices, (n // self.devices) % self.slots

    def latest_at(self, device: int, slot: int, last: int) -> int:
        """The last write among 1..`last` that went to (device, slot); 0 if none did."""
        first = slot * self.devices + device + 1  # the first write that lands there
        if first > last:
            return 0
        period = self.devices * self.slots
        return first + ((last - first) // period) * period


@dataclass(frozen=True, slots=True)
class Block:
    run_id: int
    seq: int
    device: int
    devices: int
    slots: int


def encode(block: Block, into: memoryview) -> None:
    """Fill `into` (BLOCK bytes, e.g. an mmap for O_DIRECT) with `block`."""
    into[:] = bytes([block.seq % 251 + 1]) * BLOCK
    header = _HEADER.pack(MAGIC, block.run_id, block.seq, block.device, block.devices, block.slots)
    into[: _HEADER.size] = header
    into[_CRC_AT : _CRC_AT + _CRC.size] = b"\0" * _CRC.size
    into[_CRC_AT : _CRC_AT + _CRC.size] = _CRC.pack(zlib.crc32(into))


class BadBlock(ValueError):
    """A block that is neither empty nor a whole block of the writer."""


def decode(data: bytes | memoryview) -> Block | None:
    """The block in `data` (BLOCK bytes); None for an empty (all-zero) block."""
    raw = bytes(data)
    if not raw.strip(b"\0"):
        return None
    magic, run_id, seq, device, devices, slots = _HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise BadBlock("no writer's magic")
    (crc,) = _CRC.unpack_from(raw, _CRC_AT)
    zeroed = raw[:_CRC_AT] + b"\0" * _CRC.size + raw[_CRC_AT + _CRC.size :]
    if zlib.crc32(zeroed) != crc:
        raise BadBlock(f"checksum mismatch (seq {seq})")
    return Block(run_id, seq, device, devices, slots)


def open_flags(path: str, direct: bool | None, write: bool) -> tuple[int, bool]:
    """os.open flags for `path` and whether they include O_DIRECT (None: on block devices)."""
    use_direct = stat.S_ISBLK(os.stat(path).st_mode) if direct is None else direct
    flags = (os.O_WRONLY | os.O_SYNC) if write else os.O_RDONLY
    return flags | (os.O_DIRECT if use_direct else 0), use_direct


@contextlib.contextmanager
def opened(paths: Sequence[str], direct: bool | None, write: bool) -> Iterator[list[int]]:
    fds: list[int] = []
    try:
        for path in paths:
            fds.append(os.open(path, open_flags(path, direct, write)[0]))
        yield fds
    finally:
        for fd in fds:
            os.close(fd)
