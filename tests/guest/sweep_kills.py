"""kill -9 cohortd at a sweep of moments during each multi-step operation, in the guest.

The guest suite kills at a few observable points (first LV, first gate); this sweeps time
instead: for each operation and each delay, a fresh group of four volumes with data, the call
in a thread, SIGKILL to the unit after the delay, then what the restart left: cohortd SERVING,
every LV owned by an object, the statuses, and a delete of everything leaving no LV and no gate.

    vagrant/testbed exec -- 'cd /src && /opt/cohort/bin/python -m tests.guest.sweep_kills 0.3 1.2'

(arguments: the delays in seconds, 0.3 1.2 2.5 by default; `--whom main` kills cohortd alone,
leaving its running lvm child to finish its command, instead of the whole unit).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable

from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from tests.guest.helpers import channel
from tests.guest.test_scenario import Client, cohort_lvs, delete_all, gates, kill_during, make_group

Operation = Callable[[Client, g_pb.Group, str], object]


def first_group_snapshot(api: Client) -> gs_pb.GroupSnapshot:
    listed = api.group_snapshots.ListGroupSnapshots(gs_pb.ListGroupSnapshotsRequest())
    return listed.group_snapshots[0]


OPERATIONS: dict[str, tuple[bool, Operation]] = {
    # name: (needs a group snapshot first, the call)
    "create group snapshot": (
        False,
        lambda api, group, tag: api.group_snapshots.CreateGroupSnapshot(
            gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"gs-{tag}")
        ),
    ),
    "clone group": (
        False,
        lambda api, group, tag: api.groups.CreateGroupFromSource(
            g_pb.CreateGroupFromSourceRequest(name=f"c-{tag}", source_group_id=group.id)
        ),
    ),
    "group from group snapshot": (
        True,
        lambda api, group, tag: api.groups.CreateGroupFromSource(
            g_pb.CreateGroupFromSourceRequest(
                name=f"f-{tag}", group_snapshot_id=first_group_snapshot(api).id
            )
        ),
    ),
    "delete group snapshot": (
        True,
        lambda api, group, tag: api.group_snapshots.DeleteGroupSnapshot(
            gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=first_group_snapshot(api).id)
        ),
    ),
    "delete group with volumes": (
        False,
        lambda api, group, tag: api.groups.DeleteGroup(
            g_pb.DeleteGroupRequest(group_id=group.id, delete_volumes=True)
        ),
    ),
}


def census(objects: dict[str, str]) -> str:
    """How many objects of each kind are in each status: "volume AVAILABLE x4, ..."."""
    return ", ".join(f"{what} x{n}" for what, n in sorted(Counter(objects.values()).items()))


def sweep(
    name: str, needs_snapshot: bool, operation: Operation, delay: float, whom: str, tag: str
) -> bool:
    with channel() as ch:
        api = Client(ch)
        group = make_group(api, f"sweep-{tag}", count=4)
        if needs_snapshot:
            OPERATIONS["create group snapshot"][1](api, group, f"pre-{tag}")
        start = time.monotonic()
        kill_during(
            lambda: operation(api, group, tag), lambda: time.monotonic() - start >= delay, whom
        )
    with channel() as ch:
        api = Client(ch)
        objects = api.everything()
        statuses = census(objects)
        orphans = set(cohort_lvs()) - set(objects)
        delete_all(api)
        left = (cohort_lvs(), gates())
    ok = not orphans and left == ({}, set())
    print(
        f"{name}, kill after {delay:.1f}s: {'ok' if ok else 'FAILED'}: {statuses}; "
        f"{len(orphans)} LVs without an object; after deleting all: {left}",
        flush=True,
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("delays", nargs="*", type=float, default=[0.3, 1.2, 2.5])
    parser.add_argument(
        "--whom", choices=["all", "main"], default="all", help="kill the whole unit, or cohortd"
    )
    args = parser.parse_args()
    results = [
        sweep(name, needs_snapshot, operation, delay, args.whom, f"{i}-{j}")
        for i, (name, (needs_snapshot, operation)) in enumerate(OPERATIONS.items())
        for j, delay in enumerate(args.delays)
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
