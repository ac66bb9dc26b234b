"""What durable commits cost: the store's writes with SQLite's synchronous=NORMAL and with FULL
(what cohortd runs: every commit fsynced), measured in the same run on the same filesystem.

    python bench/durability.py [--count 50] [--blocks 20] [--dir DIR]

Two workloads, run in blocks of `count` operations, the two settings alternating block by block:
- "journal write": one write transaction updating an operation's steps, which is what the
  journal commits before and after every batch of steps a backend runs;
- "CreateVolume": the manager's whole create on the simulated backend (all of its transactions).
Prints the median over blocks of the per-operation time of each setting, and FULL / NORMAL.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event

from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.model import Operation, StepRecord, StepState, VolumeType
from cohort.manager import Manager
from cohort.sim import SimBackend
from cohort.store import SqlStore
from cohort.store.sql import DB_FILE

SETTINGS = ("NORMAL", "FULL")
#: PRAGMA synchronous reads back as a number.
LEVELS = {"NORMAL": 1, "FULL": 2}


def _synchronous(setting: str, dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.execute(f"PRAGMA synchronous={setting}")


def open_store(state: Path, setting: str) -> SqlStore:
    """The daemon's store in `state`, with `setting` applied after the store's own pragmas."""
    state.mkdir(parents=True)
    store = SqlStore(f"sqlite:///{state / DB_FILE}")
    event.listen(store.engine, "connect", partial(_synchronous, setting))
    store.upgrade()
    with store.engine.connect() as connection:
        level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    if level != LEVELS[setting]:
        raise RuntimeError(f"synchronous is {level}, not {setting}")
    return store


def journal_writes(store: SqlStore) -> Callable[[int], None]:
    operation = Operation(kind="bench", subject_id="bench")
    with store.transaction() as tx:
        tx.operations.add(operation)

    def one(i: int) -> None:
        # a step recorded as planned, then marked done: an operation of a few steps
        state = StepState.DONE if i % 2 else StepState.PLANNED
        step = StepRecord(seq=i // 2 % 4 + 1, action="bench", params={"n": str(i)}, state=state)
        operation.steps[step.seq - 1 :] = [step]
        with store.transaction() as tx:
            tx.operations.update(operation)

    return one


def create_volumes(store: SqlStore) -> Callable[[int], None]:
    manager = Manager(store, SimBackend(capacity_bytes=1 << 50), CapabilityPolicy(), host="bench")
    with store.transaction() as tx:
        tx.volume_types.add(VolumeType(name="bench"))

    def one(i: int) -> None:
        manager.create_volume(f"v{i}", 1 << 30, "bench")

    return one


WORKLOADS: dict[str, Callable[[SqlStore], Callable[[int], None]]] = {
    "journal write": journal_writes,
    "CreateVolume": create_volumes,
}


def measure(root: Path, workload: str, count: int, blocks: int) -> dict[str, list[float]]:
    """Per-operation ms of each block of `count` operations; the settings alternate block by
    block on two stores open side by side, so that a noisy neighbour hits both alike."""
    stores = {s: open_store(root / f"{s}-{workload.replace(' ', '-')}", s) for s in SETTINGS}
    try:
        ops = {s: WORKLOADS[workload](store) for s, store in stores.items()}
        times: dict[str, list[float]] = {s: [] for s in SETTINGS}
        for block in range(blocks):
            for setting in SETTINGS:
                started = time.perf_counter()
                for i in range(block * count, (block + 1) * count):
                    ops[setting](i)
                times[setting].append((time.perf_counter() - started) * 1000 / count)
        return times
    finally:
        for store in stores.values():
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="operations per block")
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go")
    opts = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    with tempfile.TemporaryDirectory(dir=opts.dir) as tmp:
        root = Path(tmp)
        print(f"{opts.blocks} blocks of {opts.count} operations per setting, in {root}")
        for workload in WORKLOADS:
            times = measure(root, workload, opts.count, opts.blocks)
            normal, full = (statistics.median(times[s]) for s in SETTINGS)
            print(
                f"  {workload:14s} NORMAL {normal:7.3f} ms/op   FULL {full:7.3f} ms/op"
                f"   FULL/NORMAL {full / normal:5.2f}   (+{full - normal:.3f} ms)"
                "   (medians over blocks)"
            )


if __name__ == "__main__":
    main()
