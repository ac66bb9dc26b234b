"""One load run against any cohortd: the shared objects made, the clients run to the deadline
and verified, and everything the run found. The caller adds what only it can see (the backend's
inventory), so that one run serves the sim in-process and LVM in the guest."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub

from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.inprocess import Stubs
from tests.load.checks import DEADLINE, everything, shared_problems, unsettled
from tests.load.ledger import Shared
from tests.load.workload import GROUP_TYPE, SIZE, VOLUME_TYPE, Client

#: How long the clients run, and how many (COHORT_LOAD_SECONDS, COHORT_LOAD_CLIENTS).
SECONDS = float(os.environ.get("COHORT_LOAD_SECONDS", "20"))
CLIENTS = int(os.environ.get("COHORT_LOAD_CLIENTS", "32"))
SHARED_VOLUMES = 8
SHARED_GROUPS = 3


@dataclass
class Run:
    run_id: str
    shared: Shared
    clients: list[Client]
    calls: int
    seconds: float

    def report(self) -> str:
        lines = [
            f"load {self.run_id}: {len(self.clients)} clients, {self.calls} calls in "
            f"{self.seconds:.1f} s ({self.calls / self.seconds:.0f}/s)"
        ]
        operations = sorted({op for op, _ in self.shared.tally})
        for op in operations:
            codes = {code: n for (o, code), n in self.shared.tally.items() if o == op}
            lines.append(f"  {op}: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
        return "\n".join(lines)


def run_load(
    open_channel: Callable[[], grpc.Channel],
    seconds: float = SECONDS,
    clients: int = CLIENTS,
    seed: int | None = None,
) -> Run:
    """Make the shared objects, run `clients` clients (a channel each) for `seconds`, let each
    verify what it owns; the Run holds what they were told and what they found."""
    run_id = f"load{uuid.uuid4().hex[:6]}"
    seed = seed if seed is not None else int(time.time())
    with open_channel() as channel:
        shared = _make_shared(Stubs(channel), run_id)
    channels = [open_channel() for _ in range(clients)]
    workers = [Client(i, ch, shared, run_id, seed) for i, ch in enumerate(channels)]
    started = time.monotonic()
    deadline = started + seconds

    def work(client: Client) -> None:
        client.run(deadline)
        client.verify()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for index, thread in enumerate(threads):
        thread.join(timeout=max(1.0, deadline - time.monotonic()) + 2 * DEADLINE)
        if thread.is_alive():
            shared.violation(f"client {index} did not finish (a call without an answer?)")
    elapsed = time.monotonic() - started
    for ch in channels:
        ch.close()
    return Run(run_id, shared, workers, sum(shared.tally.values()), elapsed)


def load_problems(api: Stubs, run: Run) -> list[str]:
    """Every violation the clients saw; the shared objects against the answers; every object
    settled; nothing a client deleted still there and nothing it owns missing; health SERVING."""
    problems = list(run.shared.violations)
    problems += shared_problems(api, run.shared)
    problems += unsettled(api)
    present = {obj.id for _, obj in everything(api)}
    for client in run.clients:
        owned = {*client.ledger.volumes, *client.ledger.snapshots, *client.ledger.groups}
        owned.update(client.ledger.group_snapshots)
        problems += [f"client {client.index}: {i} missing" for i in sorted(owned - present)]
        problems += [
            f"client {client.index}: deleted {i} is back" for i in client.ledger.gone & present
        ]
    health = HealthStub(api.channel).Check(health_pb2.HealthCheckRequest(), timeout=DEADLINE)
    if health.status != health_pb2.HealthCheckResponse.SERVING:
        problems.append(f"health {health.status} after the run")
    return problems


def tear_down(api: Stubs, run_id: str) -> None:
    """Delete every object the run made (group snapshots, snapshots, groups with their volumes,
    volumes), so that the next test finds the pool as it was."""
    mine = [(kind, obj) for kind, obj in everything(api) if obj.name.startswith(run_id)]
    t = {"timeout": DEADLINE}
    order: list[tuple[str, Callable[[str], object]]] = [
        (
            "group snapshot",
            lambda i: api.group_snapshots.DeleteGroupSnapshot(
                gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=i), **t
            ),
        ),
        (
            "snapshot",
            lambda i: api.snapshots.DeleteSnapshot(s_pb.DeleteSnapshotRequest(snapshot_id=i), **t),
        ),
        (
            "group",
            lambda i: api.groups.DeleteGroup(
                g_pb.DeleteGroupRequest(group_id=i, delete_volumes=True), **t
            ),
        ),
        ("volume", lambda i: api.volumes.DeleteVolume(v_pb.DeleteVolumeRequest(volume_id=i), **t)),
    ]
    for kind, delete in order:
        for obj_kind, obj in mine:
            if obj_kind != kind:
                continue
            try:
                delete(obj.id)
            except grpc.RpcError as error:
                # a group's volumes went with it; a group snapshot's snapshots with it
                if error.code() is not grpc.StatusCode.NOT_FOUND:
                    raise


def _make_shared(api: Stubs, run_id: str) -> Shared:
    t = {"timeout": DEADLINE}
    api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name=VOLUME_TYPE), **t)
    api.types.CreateGroupType(t_pb.CreateGroupTypeRequest(name=GROUP_TYPE), **t)
    volumes = {}
    for i in range(SHARED_VOLUMES):
        request = v_pb.CreateVolumeRequest(
            name=f"{run_id}-shared-v{i}", size_bytes=SIZE, volume_type=VOLUME_TYPE
        )
        vol = api.volumes.CreateVolume(request, **t)
        volumes[vol.id] = vol.size_bytes
    groups = []
    for i in range(SHARED_GROUPS):
        group = g_pb.CreateGroupRequest(
            name=f"{run_id}-shared-g{i}", group_type=GROUP_TYPE, volume_types=[VOLUME_TYPE]
        )
        groups.append(api.groups.CreateGroup(group, **t).id)
    return Shared(volumes, groups)
