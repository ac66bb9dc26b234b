"""An ordered writer across several block devices, and its checker: the proof of a
write-order-consistent group image.

    python -m cohort.tools.ordered_writer write DEV... [--duration S] [--progress FILE]
    python -m cohort.tools.ordered_writer check DEV... [--slots N]

`write` writes sequence-numbered blocks round-robin across the devices (see
`cohort.tools.ordered_blocks` for the format and the layout), each write O_DIRECT|O_SYNC from an
aligned buffer and complete before the next is issued, for a duration or until SIGTERM/SIGINT;
it prints a JSON summary with the per-write latencies. `--progress FILE` keeps a small JSON file
up to date with the last completed write and when the write in flight was issued
(CLOCK_MONOTONIC, which every process of the machine shares), so another process can tell that
the writer's I/O stalls and resumes.

`check` reads every slot of the devices (in the writer's order: snapshots or clones of them) and
prints whether they hold exactly the writes 1..S for some S (exit 0) or are torn (exit 1).
Direct I/O is used on block devices; on regular files it is optional (`--direct`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mmap
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from cohort.tools.ordered_blocks import BLOCK, Block, Layout, encode, open_flags, opened
from cohort.tools.ordered_check import check

DEFAULT_SLOTS = 1024
#: Writes slower than this are listed one by one in the summary (stalls).
STALL_SECONDS = 0.1
#: At most this many stalls are listed (the longest are always in the latency figures).
MAX_STALLS = 100_000


@dataclass(frozen=True, slots=True)
class Stall:
    seq: int
    #: CLOCK_MONOTONIC when the write was issued.
    started: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Latency:
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        if not samples:
            return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ranked = sorted(samples)

        def rank(q: float) -> float:
            return ranked[min(len(ranked) - 1, int(q * len(ranked)))]

        mean = sum(ranked) / len(ranked)
        return cls(mean, rank(0.5), rank(0.9), rank(0.99), rank(0.999), ranked[-1])


@dataclass(frozen=True, slots=True)
class WriteSummary:
    run_id: int
    devices: list[str]
    slots: int
    direct: bool
    writes: int
    seconds: float
    latency: Latency
    stalls: list[Stall] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


class Progress:
    """The last completed write and when the one in flight was issued, for other processes:
    a JSON file rewritten (atomically) every `interval` seconds by a thread of its own."""

    def __init__(self, path: str, run_id: int, interval: float = 0.1) -> None:
        self.path, self.run_id, self.interval = path, run_id, interval
        self.done = 0
        self.issued = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Progress:
        self._publish()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._publish(finished=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._publish()

    def _publish(self, finished: bool = False) -> None:
        state = {
            "pid": os.getpid(),
            "run_id": self.run_id,
            "done": self.done,
            "issued": self.issued,
            "now": time.monotonic(),
            "finished": finished,
        }
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.path)


#: Bytes zeroed per write when a run clears its slots.
CLEAR_CHUNK = 1 << 20


def clear(fds: Sequence[int], paths: Sequence[str], slots: int) -> None:
    """Zero every slot of every device before the first write: a device used by an earlier run
    would otherwise hold that run's blocks, and an image could not be judged."""
    size = slots * BLOCK
    chunk = mmap.mmap(-1, min(CLEAR_CHUNK, size))  # zeroed and page aligned
    view = memoryview(chunk)
    try:
        for fd, path in zip(fds, paths, strict=True):
            for offset in range(0, size, len(view)):
                length = min(len(view), size - offset)
                with view[:length] as part:
                    if os.pwrite(fd, part, offset) != length:
                        raise OSError(f"short write clearing {path} at {offset}")
            os.fsync(fd)
    finally:
        view.release()
        chunk.close()


def write_ordered(
    paths: Sequence[str],
    *,
    slots: int = DEFAULT_SLOTS,
    duration: float = 0.0,
    count: int = 0,
    stop: threading.Event | None = None,
    progress: str = "",
    direct: bool | None = None,
    stall_seconds: float = STALL_SECONDS,
) -> WriteSummary:
    """Write until `duration` seconds have passed, `count` writes are done or `stop` is set
    (0: no such limit); the summary of the run."""
    layout = Layout(len(paths), slots)
    run_id = secrets.randbits(63)
    stop = stop or threading.Event()
    buffer = mmap.mmap(-1, BLOCK)  # page aligned, as O_DIRECT needs
    view = memoryview(buffer)
    latencies: list[float] = []
    stalls: list[Stall] = []
    tracker = Progress(progress, run_id) if progress else None
    uses_direct = [open_flags(p, direct, write=True)[1] for p in paths]
    seq = 0
    with opened(paths, direct, write=True) as fds, tracker or contextlib.nullcontext():
        clear(fds, paths, slots)
        started = time.monotonic()
        end = started + duration if duration > 0 else float("inf")
        while not stop.is_set() and (count <= 0 or seq < count) and time.monotonic() < end:
            seq += 1
            device, slot = layout.place(seq)
            encode(Block(run_id, seq, device, layout.devices, slots), view)
            issued = time.monotonic()
            if tracker:
                tracker.issued = issued
            if os.pwrite(fds[device], view, slot * BLOCK) != BLOCK:
                raise OSError(f"short write of block {seq} to {paths[device]}")
            took = time.monotonic() - issued
            latencies.append(took)
            if tracker:
                tracker.done = seq
            if took >= stall_seconds and len(stalls) < MAX_STALLS:
                stalls.append(Stall(seq, issued, took))
    view.release()
    buffer.close()
    return WriteSummary(
        run_id=run_id,
        devices=list(paths),
        slots=slots,
        direct=all(uses_direct),
        writes=seq,
        seconds=time.monotonic() - started,
        latency=Latency.of(latencies),
        stalls=stalls,
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cohort.tools.ordered_writer")
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write ordered blocks across the devices")
    w.add_argument("--duration", type=float, default=0.0, help="seconds; 0: until signalled")
    w.add_argument("--count", type=int, default=0, help="stop after this many writes")
    w.add_argument("--progress", default="", help="keep this JSON file up to date")
    w.add_argument(
        "--stall-seconds", type=float, default=STALL_SECONDS, help="list writes this slow"
    )
    k = sub.add_parser("check", help="is the image write-order consistent?")
    for p in (w, k):
        p.add_argument("devices", nargs="+")
        p.add_argument("--slots", type=int, default=DEFAULT_SLOTS, help="blocks per device")
        p.add_argument(
            "--direct",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="O_DIRECT (default: on block devices only)",
        )
    args = parser.parse_args(argv)
    if args.cmd == "write":
        summary = write_ordered(
            args.devices,
            slots=args.slots,
            duration=args.duration,
            count=args.count,
            stop=_stop_on_signals(),
            progress=args.progress,
            direct=args.direct,
            stall_seconds=args.stall_seconds,
        )
        print(summary.as_json())
        return 0
    verdict = check(args.devices, slots=args.slots, direct=args.direct)
    print(verdict.as_json())
    return 0 if verdict.consistent else 1


if __name__ == "__main__":
    sys.exit(main())
