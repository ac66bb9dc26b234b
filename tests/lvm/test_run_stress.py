"""Proof that the choke point is safe in a multithreaded server (see cohort.lvm.run's docstring).

Many threads each run many short commands through one CommandRunner at the same time, while
other threads keep the logging and import machinery busy, repeated. Nothing may hang (the test
runs under a hard deadline) and every command's output must come back intact and to its caller.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from cohort.lvm.run import CommandRunner

THREADS = 24
PER_THREAD = 40
ROUNDS = 3
DEADLINE = 120.0


def _worker(runner: CommandRunner, t: int, rnd: int) -> int:
    done = 0
    for i in range(PER_THREAD):
        token = f"r{rnd}-t{t}-i{i}"
        if i % 3 == 0:
            assert runner.run(["true"]).stdout == ""
        elif i % 3 == 1:
            res = runner.run(["echo", token])
            assert res.stdout == token + "\n", (token, res.stdout)
        else:
            res = runner.run(["sh", "-c", 'printf %s "$0"; printf %s "$0" >&2', token])
            assert (res.stdout, res.stderr) == (token, token)
        done += 1
    return done


def _noise(stop: threading.Event) -> None:
    # Keep locks that a Python-level fork child would inherit (logging, allocator) hot.
    logger = logging.getLogger("cohort.stress.noise")
    while not stop.is_set():
        logger.debug("noise %s", "x" * 64)
        _ = [bytearray(256) for _ in range(64)]


def test_many_threads_many_commands_no_hang_no_lost_output() -> None:
    runner = CommandRunner(timeout=30)
    stop = threading.Event()
    noise = [threading.Thread(target=_noise, args=(stop,), daemon=True) for _ in range(2)]
    for n in noise:
        n.start()
    t0 = time.monotonic()
    try:
        for rnd in range(ROUNDS):
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                futs = [pool.submit(_worker, runner, t, rnd) for t in range(THREADS)]
                remaining = DEADLINE - (time.monotonic() - t0)
                total = sum(f.result() for f in as_completed(futs, timeout=remaining))
            assert total == THREADS * PER_THREAD
    finally:
        stop.set()
        for n in noise:
            n.join()
    # Every command went through the flight recorder (it keeps the last 50).
    assert len(runner.recorder.entries()) == 50
    assert all(e.rc == 0 for e in runner.recorder.entries())
