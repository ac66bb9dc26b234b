"""How long the group operations take as a plain group grows, on the simulated backend, through
the manager with its store on disk (what a client waits for, less gRPC).

    python bench/group_size.py [--sizes 100,330,1000,2000]

For each size: a fresh store and pool, a group of that many volumes (loaded straight into the
store and the pool), then CreateGroupSnapshot, CreateGroupFromSource (from that group snapshot),
DeleteGroup (with its volumes) and DeleteGroupSnapshot, each timed once; and, apart, the sim's
create_group_snapshot alone under a journal on the same store (the journal's two commits and the
in-memory work), to tell the backend's share from the manager's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.model import GroupSnapshot, Snapshot, Volume, VolumeStatus
from cohort.manager import Manager
from cohort.manager.journal import Journal
from cohort.sim import SimBackend
from cohort.store import SqlStore

MiB = 1 << 20


def timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def group_of(manager: Manager, store: SqlStore, sim: SimBackend, size: int) -> list[Volume]:
    vtype = manager.create_volume_type("bench", "", {})
    manager.create_group_type("plain", "", {})
    group = manager.create_group("g", "", "plain", ["bench"])
    volumes = [
        Volume(
            name=f"v{i:05d}",
            size_bytes=8 * MiB,
            volume_type_id=vtype.id,
            group_id=group.id,
            status=VolumeStatus.AVAILABLE,
        )
        for i in range(size)
    ]
    with store.transaction() as tx:
        for volume in volumes:
            tx.volumes.add(volume)
    for volume in volumes:
        sim.create_volume(volume)
    return volumes


def run(size: int, root: Path) -> dict[str, float]:
    store = SqlStore.open(root)
    sim = SimBackend(capacity_bytes=1 << 50)
    manager = Manager(store, sim, CapabilityPolicy(max_group_volumes=size), host="bench")
    try:
        volumes = group_of(manager, store, sim, size)
        times = {
            "CreateGroupSnapshot": timed(lambda: manager.create_group_snapshot("g", "gs")),
            "CreateGroupFromSource": timed(
                lambda: manager.create_group_from_source("c", "", group_snapshot="gs")
            ),
            "DeleteGroup(+volumes)": timed(lambda: manager.delete_group("c", delete_volumes=True)),
            "DeleteGroupSnapshot": timed(lambda: manager.delete_group_snapshot("gs")),
        }
        gsnap = GroupSnapshot(name="alone", group_id="g", group_type_id="plain")
        snapshots = [
            Snapshot(name=v.name, volume_id=v.id, size_bytes=v.size_bytes) for v in volumes
        ]

        def backend_alone() -> None:
            journal = Journal.begin(store, "create_group_snapshot", gsnap.id)
            sim.create_group_snapshot(gsnap, snapshots, journal)
            journal.finish()

        times["sim create_group_snapshot + journal"] = timed(backend_alone)
        return times
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,330,1000,2000")
    opts = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    for size in (int(s) for s in opts.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            times = run(size, Path(tmp))
        print(f"{size} volumes:")
        for name, seconds in times.items():
            print(f"  {name:38s} {seconds:7.3f} s   {1000 * seconds / size:6.2f} ms/member")


if __name__ == "__main__":
    main()
