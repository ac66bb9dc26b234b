"""The load test's checks: a client's objects against its ledger (one at a time while it runs,
all of them at the end), the shared objects against what every client was told, and the whole
store (paged through the List RPCs) settled."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from cohort.v1 import common_pb2 as c
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.answers import OK, Answer, answer
from tests.inprocess import Stubs
from tests.load.ledger import Ledger, Shared

#: Every call's deadline: a call that has not answered by then counts as a deadlock.
DEADLINE = 60.0
NOT_FOUND = grpc.StatusCode.NOT_FOUND
SETTLED: dict[str, set[int]] = {
    "volume": {c.VOLUME_STATUS_AVAILABLE, c.VOLUME_STATUS_IN_USE},
    "snapshot": {c.SNAPSHOT_STATUS_AVAILABLE},
    "group": {c.GROUP_STATUS_AVAILABLE, c.GROUP_STATUS_IN_USE},
    "group snapshot": {c.SNAPSHOT_STATUS_AVAILABLE},
}


class Checker:
    """Calls with a deadline, tallied; reads that must find (or must not find) an object."""

    random: random.Random
    ledger: Ledger

    def __init__(self, api: Stubs, shared: Shared) -> None:
        self.api = api
        self.shared = shared
        self.t = {"timeout": DEADLINE}

    def call(self, operation: str, fn: Callable[[], Any], *allowed: Any) -> Answer:
        """Make a call; a code outside OK and `allowed` is a violation."""
        got = answer(fn)
        self.shared.answered(operation, got.code.name)
        if got.code is not OK and got.code not in allowed:
            self.shared.violation(f"{operation}: {got}")
        return got

    def expect(self, condition: bool, text: str) -> None:
        if not condition:
            self.shared.violation(text)

    def get(self, service: str, method: str, request: Any) -> Any:
        """The reply of a read, or None when it answers NOT_FOUND."""
        stub = getattr(getattr(self.api, service), method)
        got = self.call(method, lambda: stub(request, **self.t), NOT_FOUND)
        return got.reply

    # -- the ledger --------------------------------------------------------------------------
    def verify_one(self) -> bool:
        """Check one owned object, picked at random, against the ledger."""
        checks: list[tuple[Callable[[str], None], str]] = [
            *((self.check_volume, v) for v in self.ledger.volumes),
            *((self.check_group, g) for g in self.ledger.groups),
            *((self.check_group_snapshot, s) for s in self.ledger.group_snapshots),
        ]
        if not checks:
            return False
        check, object_id = self.random.choice(checks)
        check(object_id)
        return True

    def verify(self) -> None:
        """Check every owned object against the ledger (what it deleted: see `load_problems`)."""
        for volume_id in list(self.ledger.volumes):
            self.check_volume(volume_id)
        for snapshot_id, want in self.ledger.snapshots.items():
            snap = self.get(
                "snapshots", "GetSnapshot", s_pb.GetSnapshotRequest(snapshot_id=snapshot_id)
            )
            found = None if snap is None else (snap.volume_id, snap.size_bytes)
            self.expect(found == (want.volume_id, want.size), f"snapshot {snapshot_id}: {found}")
        for group_id in list(self.ledger.groups):
            self.check_group(group_id)
        for gsnap_id in list(self.ledger.group_snapshots):
            self.check_group_snapshot(gsnap_id)

    def check_volume(self, volume_id: str) -> None:
        want = self.ledger.volumes[volume_id]
        got = self.get("volumes", "GetVolume", v_pb.GetVolumeRequest(volume_id=volume_id))
        if got is None:
            self.shared.violation(f"volume {volume_id} is lost")
            return
        self.expect(
            got.size_bytes == want.size, f"{volume_id}: size {got.size_bytes}, told {want.size}"
        )
        self.expect(
            got.group_id == want.group_id,
            f"{volume_id}: group {got.group_id!r}, told {want.group_id!r}",
        )
        self.expect(got.status in SETTLED["volume"], f"{volume_id}: status {got.status}")

    def check_group(self, group_id: str) -> None:
        want = self.ledger.groups[group_id]
        got = self.get("groups", "GetGroup", g_pb.GetGroupRequest(group_id=group_id))
        if got is None:
            self.shared.violation(f"group {group_id} is lost")
            return
        self.expect(set(got.volume_ids) == want.members, f"{group_id}: members differ")
        self.expect(
            (got.name, got.description) == (want.name, want.description),
            f"{group_id}: name or description lost",
        )
        self.expect(got.status in SETTLED["group"], f"{group_id}: status {got.status}")

    def check_group_snapshot(self, gsnap_id: str) -> None:
        want = self.ledger.group_snapshots[gsnap_id]
        request = gs_pb.GetGroupSnapshotRequest(group_snapshot_id=gsnap_id)
        got = self.get("group_snapshots", "GetGroupSnapshot", request)
        if got is None:
            self.shared.violation(f"group snapshot {gsnap_id} is lost")
            return
        self.expect(set(got.snapshot_ids) == set(want.snapshots), f"{gsnap_id}: snapshots differ")
        self.expect(got.status in SETTLED["group snapshot"], f"{gsnap_id}: status {got.status}")


def shared_problems(api: Stubs, shared: Shared) -> list[str]:
    """Each shared volume's size is the largest it was answered, it is where the answered
    membership changes put it, and every identical create of a common name got one volume."""
    problems = []
    members: dict[str, set[str]] = {}
    for group_id in shared.group_ids:
        group = api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group_id), timeout=DEADLINE)
        members[group_id] = set(group.volume_ids)
    for volume_id in shared.volume_ids:
        vol = api.volumes.GetVolume(v_pb.GetVolumeRequest(volume_id=volume_id), timeout=DEADLINE)
        if vol.size_bytes != shared.sizes[volume_id]:
            problems.append(f"{volume_id}: {vol.size_bytes} bytes, told {shared.sizes[volume_id]}")
        where = shared.expected_group(volume_id)
        if where is None:
            problems.append(f"{volume_id}: answered changes {dict(shared.moves[volume_id])}")
        elif vol.group_id != where or (where and volume_id not in members[where]):
            problems.append(
                f"{volume_id}: in {vol.group_id!r}, answered changes put it in {where!r}"
            )
    for name, ids in shared.common.items():
        if len(ids) != 1:
            problems.append(f"identical creates of {name} answered {sorted(ids)}")
    return problems


def everything(api: Stubs) -> Iterator[tuple[str, Any]]:
    """(kind, object) for every volume, snapshot, group and group snapshot, paged."""
    lists: list[tuple[str, Any, Any, str]] = [
        ("volume", api.volumes.ListVolumes, v_pb.ListVolumesRequest, "volumes"),
        ("snapshot", api.snapshots.ListSnapshots, s_pb.ListSnapshotsRequest, "snapshots"),
        ("group", api.groups.ListGroups, g_pb.ListGroupsRequest, "groups"),
        (
            "group snapshot",
            api.group_snapshots.ListGroupSnapshots,
            gs_pb.ListGroupSnapshotsRequest,
            "group_snapshots",
        ),
    ]
    for kind, list_call, request_type, field in lists:
        token = ""
        while True:
            page = list_call(request_type(page_size=1000, page_token=token), timeout=DEADLINE)
            for obj in getattr(page, field):
                yield kind, obj
            token = page.next_page_token
            if not token:
                break


def unsettled(api: Stubs) -> list[str]:
    """Every object not in a settled status (transitional or error)."""
    return [
        f"{kind} {obj.id} {obj.status}"
        for kind, obj in everything(api)
        if obj.status not in SETTLED[kind]
    ]
