"""A slow backend call holds nothing but what it reserved: while a group snapshot waits in the
backend (the sim's `delay` fault), reads, mutations that need no backend, mutations of other
objects and shared uses of its members all answer, and only what conflicts with it is BUSY. The
check is an order, not a stopwatch: every one of those answers arrives before the snapshot's."""

from __future__ import annotations

import threading
import time

from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub

from cohort.v1 import capabilities_pb2 as cap_pb
from cohort.v1 import common_pb2 as c
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.answers import BUSY, OK, Answer, answer, busy_problems
from tests.races.race import Racer, Side
from tests.races.sides import (
    create_group,
    create_group_snapshot,
    create_snapshot,
    create_volume,
    delete_group,
    delete_volume,
    extend_volume,
    rpc,
    update_group,
)
from tests.races.world import SIZE, TIMEOUT, World

#: The group snapshot's wait in the backend: far longer than the calls made meanwhile take.
SLOW = 3.0


def reads(group_id: str, member: str) -> list[Side]:
    health = health_pb2.HealthCheckRequest(service="")
    return [
        rpc("groups", "GetGroup", g_pb.GetGroupRequest(group_id=group_id)),
        rpc("volumes", "GetVolume", v_pb.GetVolumeRequest(volume_id=member)),
        rpc("volumes", "ListVolumes", v_pb.ListVolumesRequest(group_id=group_id)),
        rpc("snapshots", "ListSnapshots", s_pb.ListSnapshotsRequest()),
        rpc("group_snapshots", "ListGroupSnapshots", gs_pb.ListGroupSnapshotsRequest()),
        rpc("capabilities", "GetCapabilities", cap_pb.GetCapabilitiesRequest()),
        Side("Check", lambda s: HealthStub(s.channel).Check(health, timeout=TIMEOUT)),
    ]


def test_a_slow_group_snapshot_holds_only_what_it_reserved(world: World, racer: Racer) -> None:
    group, other = world.group(members=2), world.group(members=1)
    member = group.volume_ids[0]
    loose, spare, doomed = world.volume(), world.volume(), world.volume()
    no_backend = [
        rpc("types", "CreateVolumeType", t_pb.CreateVolumeTypeRequest(name="slow-type")),
        update_group(other.id, description="meanwhile"),
        update_group(other.id, name=world.name("renamed")),
    ]
    other_objects = [
        create_volume(world.name("v")),
        extend_volume(loose.id, 2 * SIZE),
        create_snapshot(loose.id, world.name("s")),
        update_group(other.id, add=[spare.id]),
        delete_volume(doomed.id),
        create_group(world.name("g")),
    ]
    shared_with_it = [
        create_volume(world.name("v"), volume_id=member),
        create_snapshot(member, world.name("s")),
    ]
    conflicting = [
        extend_volume(member, 2 * SIZE),
        update_group(group.id, description="changed"),
        delete_group(group.id),
    ]
    world.daemon.faults(create_group_snapshot={"delay": SLOW})
    slow: list[Answer] = []
    stubs = racer.stubs[0]
    snapshot = create_group_snapshot(group.id, world.name("gs"))
    thread = threading.Thread(target=lambda: slow.append(answer(lambda: snapshot.call(stubs))))
    thread.start()
    creating = _wait_until_creating(world, group.id)

    def call(side: Side) -> Answer:
        return answer(lambda: side.call(racer.stubs[1]))

    meanwhile = [
        (side, call(side))
        for side in [
            *reads(group.id, member),
            *no_backend,
            *other_objects,
            *shared_with_it,
            *conflicting,
        ]
    ]
    thread.join(timeout=SLOW + 30)
    assert slow and slow[0].ok, f"the group snapshot: {slow}"
    assert creating.status == c.SNAPSHOT_STATUS_CREATING
    for side, got in meanwhile:
        assert got.end < slow[0].end, f"{side.operation} waited for the group snapshot"
        if side in conflicting:
            problems = busy_problems(got, {group.id, member}, {"CreateGroupSnapshot"})
            assert not problems, f"{side.operation}: {problems}"
        else:
            assert got.code is OK, f"{side.operation}: {got}"
    assert BUSY not in {got.code for side, got in meanwhile if side not in conflicting}
    assert not world.problems()


def _wait_until_creating(world: World, group_id: str) -> gs_pb.GroupSnapshot:
    """The group snapshot of `group_id`, once the store shows it (it is then in the backend)."""
    request = gs_pb.ListGroupSnapshotsRequest(group_id=group_id)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = world.daemon.group_snapshots.ListGroupSnapshots(request, timeout=TIMEOUT)
        if found.group_snapshots:
            snapshot: gs_pb.GroupSnapshot = found.group_snapshots[0]
            return snapshot
        time.sleep(0.005)
    raise AssertionError(f"no group snapshot of {group_id} appeared")
