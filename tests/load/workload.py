"""The load: clients on channels of their own making mixed calls until a deadline.

Each client changes objects it owns (volumes, snapshots, groups, group snapshots, creates from
source, renames) and checks them against its `Ledger` as it goes and at the end; all clients also
change the shared volumes and groups (extends, membership changes, group snapshots, clones,
snapshots, identical creates of common names), where BUSY and the rule violations a concurrent
change can cause are legal answers. Anything else is a violation: a code outside the call's
documented outcomes (INTERNAL, UNKNOWN, DEADLINE_EXCEEDED, ...) or an answer not reflected by
the store.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import grpc

from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.answers import BUSY
from tests.inprocess import Stubs
from tests.load.checks import Checker
from tests.load.ledger import Ledger, OwnedGroup, OwnedGroupSnapshot, Shared

MIB = 1024**2
#: Sizes are multiples of LVM's default extent (4 MiB), so that no backend rounds them.
STEP = 4 * MIB
SIZE = 2 * STEP
MAX_SIZE = 16 * STEP
VOLUME_TYPE = "load-plain"
GROUP_TYPE = "load-generic"
#: What one client owns at most of each kind; at the limit it deletes instead.
MAX_OWNED = {"volumes": 10, "snapshots": 4, "groups": 3, "group snapshots": 3}
COMMON_NAMES = 4

Code = Any  # grpc.StatusCode (grpc is untyped)
FAILED = grpc.StatusCode.FAILED_PRECONDITION
INVALID = grpc.StatusCode.INVALID_ARGUMENT


class Client(Checker):
    """One client thread's work: `run(deadline)` then `verify()`."""

    def __init__(
        self, index: int, channel: grpc.Channel, shared: Shared, run_id: str, seed: int
    ) -> None:
        super().__init__(Stubs(channel), shared)
        self.index = index
        self.run_id = run_id
        self.random = random.Random(seed * 1000 + index)
        self.ledger = Ledger()
        self._serial = 0

    def name(self, kind: str) -> str:
        self._serial += 1
        return f"{self.run_id}-c{self.index}-{kind}{self._serial}"

    def run(self, deadline: float) -> None:
        operations: list[tuple[int, Callable[[], bool]]] = [
            (6, self.create_volume),
            (4, self.extend_volume),
            (3, self.delete_volume),
            (3, self.create_snapshot),
            (2, self.delete_snapshot),
            (2, self.create_group),
            (4, self.change_membership),
            (2, self.describe_group),
            (2, self.create_group_snapshot),
            (2, self.delete_group_snapshot),
            (2, self.create_from_source),
            (1, self.create_group_from_source),
            (1, self.delete_group),
            (5, self.verify_one),
            (4, self.extend_shared),
            (4, self.move_shared),
            (2, self.snapshot_shared_group),
            (2, self.copy_shared),
            (2, self.create_common),
            (3, self.read_shared),
        ]
        weights = [w for w, _ in operations]
        while time.monotonic() < deadline:
            (operation,) = self.random.choices([op for _, op in operations], weights)
            operation()

    # -- own objects -------------------------------------------------------------------------
    def create_volume(self) -> bool:
        if len(self.ledger.volumes) >= MAX_OWNED["volumes"]:
            return self.delete_volume()
        groups = list(self.ledger.groups)
        group_id = self.random.choice(groups) if groups and self.random.random() < 0.3 else ""
        request = v_pb.CreateVolumeRequest(
            name=self.name("v"), size_bytes=SIZE, volume_type=VOLUME_TYPE, group_id=group_id
        )
        got = self.call("CreateVolume", lambda: self.api.volumes.CreateVolume(request, **self.t))
        if got.ok:
            self.expect(got.reply.size_bytes == SIZE, f"created {got.reply.id} of another size")
            self.ledger.add_volume(got.reply.id, got.reply.size_bytes, group_id)
        return True

    def extend_volume(self) -> bool:
        candidates = [v for v in self.ledger.volumes.values() if v.size < MAX_SIZE]
        if not candidates:
            return False
        vol = self.random.choice(candidates)
        request = v_pb.ExtendVolumeRequest(volume_id=vol.id, new_size_bytes=vol.size + STEP)
        got = self.call("ExtendVolume", lambda: self.api.volumes.ExtendVolume(request, **self.t))
        if got.ok:
            vol.size += STEP
            self.expect(got.reply.size_bytes == vol.size, f"extend of {vol.id} answered other")
        return True

    def delete_volume(self) -> bool:
        candidates = self.ledger.deletable_volumes()
        if not candidates:
            return False
        vol = self.random.choice(candidates)
        request = v_pb.DeleteVolumeRequest(volume_id=vol.id)
        if self.call("DeleteVolume", lambda: self.api.volumes.DeleteVolume(request, **self.t)).ok:
            self.ledger.forget_volume(vol.id)
        return True

    def create_snapshot(self) -> bool:
        if len(self.ledger.snapshots) >= MAX_OWNED["snapshots"]:
            return self.delete_snapshot()
        if not self.ledger.volumes:
            return False
        vol = self.random.choice(list(self.ledger.volumes.values()))
        request = s_pb.CreateSnapshotRequest(volume_id=vol.id, name=self.name("s"))
        got = self.call(
            "CreateSnapshot", lambda: self.api.snapshots.CreateSnapshot(request, **self.t)
        )
        if got.ok:
            self.expect(got.reply.size_bytes == vol.size, f"snapshot of {vol.id}: other size")
            self.ledger.add_snapshot(got.reply.id, vol.id, got.reply.size_bytes)
        return True

    def delete_snapshot(self) -> bool:
        if not self.ledger.snapshots:
            return False
        snapshot_id = self.random.choice(list(self.ledger.snapshots))
        request = s_pb.DeleteSnapshotRequest(snapshot_id=snapshot_id)
        got = self.call(
            "DeleteSnapshot", lambda: self.api.snapshots.DeleteSnapshot(request, **self.t)
        )
        if got.ok:
            self.ledger.forget_snapshot(snapshot_id)
        return True

    def create_group(self) -> bool:
        if len(self.ledger.groups) >= MAX_OWNED["groups"]:
            return self.delete_group()
        name = self.name("g")
        request = g_pb.CreateGroupRequest(
            name=name, group_type=GROUP_TYPE, volume_types=[VOLUME_TYPE]
        )
        got = self.call("CreateGroup", lambda: self.api.groups.CreateGroup(request, **self.t))
        if got.ok:
            self.ledger.groups[got.reply.id] = OwnedGroup(got.reply.id, name)
        return True

    def change_membership(self) -> bool:
        groups = list(self.ledger.groups.values())
        if not groups:
            return False
        group = self.random.choice(groups)
        free = self.ledger.free_volumes()
        if free and (not group.members or self.random.random() < 0.5):
            vol = self.random.choice(free)
            request = g_pb.UpdateGroupRequest(group_id=group.id, add_volume_ids=[vol.id])
        elif group.members:
            vol = self.ledger.volumes[self.random.choice(sorted(group.members))]
            request = g_pb.UpdateGroupRequest(group_id=group.id, remove_volume_ids=[vol.id])
        else:
            return False
        got = self.call("UpdateGroup", lambda: self.api.groups.UpdateGroup(request, **self.t))
        if got.ok:
            if request.add_volume_ids:
                vol.group_id = group.id
                group.members.add(vol.id)
            else:
                vol.group_id = ""
                group.members.discard(vol.id)
            self.expect(set(got.reply.volume_ids) == group.members, f"{group.id} answered")
        return True

    def describe_group(self) -> bool:
        if not self.ledger.groups:
            return False
        group = self.random.choice(list(self.ledger.groups.values()))
        name = self.name("g") if self.random.random() < 0.5 else group.name
        description = f"described by client {self.index} ({self._serial})"
        request = g_pb.UpdateGroupRequest(group_id=group.id, name=name, description=description)
        if self.call("UpdateGroup", lambda: self.api.groups.UpdateGroup(request, **self.t)).ok:
            group.name, group.description = name, description
        return True

    def create_group_snapshot(self) -> bool:
        if len(self.ledger.group_snapshots) >= MAX_OWNED["group snapshots"]:
            return self.delete_group_snapshot()
        groups = [g for g in self.ledger.groups.values() if g.members]
        if not groups:
            return False
        group = self.random.choice(groups)
        request = gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=self.name("gs"))
        got = self.call(
            "CreateGroupSnapshot",
            lambda: self.api.group_snapshots.CreateGroupSnapshot(request, **self.t),
        )
        if got.ok:
            self._record_group_snapshot(got.reply, set(group.members))
        return True

    def delete_group_snapshot(self) -> bool:
        if not self.ledger.group_snapshots:
            return False
        gsnap_id = self.random.choice(list(self.ledger.group_snapshots))
        request = gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gsnap_id)
        got = self.call(
            "DeleteGroupSnapshot",
            lambda: self.api.group_snapshots.DeleteGroupSnapshot(request, **self.t),
        )
        if got.ok:
            self.ledger.forget_group_snapshot(gsnap_id)
        return True

    def create_from_source(self) -> bool:
        """A volume from one of its own snapshots or a clone of one of its volumes."""
        if len(self.ledger.volumes) >= MAX_OWNED["volumes"]:
            return False
        request = v_pb.CreateVolumeRequest(name=self.name("v"), volume_type=VOLUME_TYPE)
        snapshots = self.ledger.snapshots
        if snapshots and self.random.random() < 0.5:
            request.snapshot_id = self.random.choice(list(snapshots))
            size = snapshots[request.snapshot_id].size
        elif self.ledger.volumes:
            source = self.random.choice(list(self.ledger.volumes.values()))
            request.volume_id, size = source.id, source.size
        else:
            return False
        got = self.call("CreateVolume", lambda: self.api.volumes.CreateVolume(request, **self.t))
        if got.ok:
            self.ledger.add_volume(got.reply.id, got.reply.size_bytes)
            self.expect(got.reply.size_bytes == size, f"copy {got.reply.id}: not its source's size")
        return True

    def create_group_from_source(self) -> bool:
        if len(self.ledger.groups) >= MAX_OWNED["groups"]:
            return False
        request = g_pb.CreateGroupFromSourceRequest(name=self.name("g"))
        gsnaps = [
            g for g in self.ledger.group_snapshots.values() if g.group_id in self.ledger.groups
        ]
        sources = [g for g in self.ledger.groups.values() if g.members]
        if gsnaps and self.random.random() < 0.5:
            request.group_snapshot_id = self.random.choice(gsnaps).id
        elif sources:
            request.source_group_id = self.random.choice(sources).id
        else:
            return False
        got = self.call(
            "CreateGroupFromSource",
            lambda: self.api.groups.CreateGroupFromSource(request, **self.t),
        )
        if got.ok:
            self.ledger.groups[got.reply.id] = OwnedGroup(got.reply.id, request.name)
            for volume_id in got.reply.volume_ids:
                made = self.get("volumes", "GetVolume", v_pb.GetVolumeRequest(volume_id=volume_id))
                size = made.size_bytes if made is not None else 0
                self.ledger.add_volume(volume_id, size, got.reply.id)
        return True

    def delete_group(self) -> bool:
        candidates = self.ledger.deletable_groups()
        if not candidates:
            return False
        group = self.random.choice(candidates)
        request = g_pb.DeleteGroupRequest(group_id=group.id, delete_volumes=True)
        if self.call("DeleteGroup", lambda: self.api.groups.DeleteGroup(request, **self.t)).ok:
            self.ledger.forget_group(group.id)
        return True

    def _record_group_snapshot(self, reply: Any, members: set[str]) -> None:
        listed = self.api.snapshots.ListSnapshots(
            s_pb.ListSnapshotsRequest(page_size=1000, group_snapshot_id=reply.id), **self.t
        ).snapshots
        snapshots = {s.id: s.volume_id for s in listed}
        self.expect(set(snapshots) == set(reply.snapshot_ids), f"{reply.id}: snapshots differ")
        if members:
            self.expect(set(snapshots.values()) == members, f"{reply.id}: not of the members")
        self.ledger.add_group_snapshot(OwnedGroupSnapshot(reply.id, reply.group_id, snapshots))

    # -- shared objects ----------------------------------------------------------------------
    def extend_shared(self) -> bool:
        volume_id = self.random.choice(self.shared.volume_ids)
        now = self.get("volumes", "GetVolume", v_pb.GetVolumeRequest(volume_id=volume_id))
        if now is None or now.size_bytes >= MAX_SIZE * 4:
            return False
        target = now.size_bytes + STEP
        request = v_pb.ExtendVolumeRequest(volume_id=volume_id, new_size_bytes=target)
        got = self.call(
            "ExtendVolume", lambda: self.api.volumes.ExtendVolume(request, **self.t), BUSY, INVALID
        )
        if got.ok:
            self.shared.extended(volume_id, target)
        return True

    def move_shared(self) -> bool:
        volume_id = self.random.choice(self.shared.volume_ids)
        now = self.get("volumes", "GetVolume", v_pb.GetVolumeRequest(volume_id=volume_id))
        if now is None:
            return False
        if now.group_id:
            group_id, change = now.group_id, "remove"
            request = g_pb.UpdateGroupRequest(group_id=group_id, remove_volume_ids=[volume_id])
        else:
            group_id, change = self.random.choice(self.shared.group_ids), "add"
            request = g_pb.UpdateGroupRequest(group_id=group_id, add_volume_ids=[volume_id])
        got = self.call(
            "UpdateGroup", lambda: self.api.groups.UpdateGroup(request, **self.t), BUSY, FAILED
        )
        if got.ok:
            self.shared.moved(volume_id, change, group_id)
        return True

    def snapshot_shared_group(self) -> bool:
        if len(self.ledger.group_snapshots) >= MAX_OWNED["group snapshots"]:
            return self.delete_group_snapshot()
        group_id = self.random.choice(self.shared.group_ids)
        request = gs_pb.CreateGroupSnapshotRequest(group_id=group_id, name=self.name("gs"))
        got = self.call(
            "CreateGroupSnapshot",
            lambda: self.api.group_snapshots.CreateGroupSnapshot(request, **self.t),
            BUSY,
            FAILED,  # the group has no volumes now
        )
        if got.ok:
            self._record_group_snapshot(got.reply, set())
        return True

    def copy_shared(self) -> bool:
        """A clone or a snapshot of a shared volume (shared with shared: may run beside a group
        snapshot of its group), owned by this client."""
        volume_id = self.random.choice(self.shared.volume_ids)
        floor = self.shared.floor(volume_id)
        if self.random.random() < 0.5 and len(self.ledger.volumes) < MAX_OWNED["volumes"]:
            request = v_pb.CreateVolumeRequest(
                name=self.name("v"), volume_type=VOLUME_TYPE, volume_id=volume_id
            )
            got = self.call(
                "CreateVolume", lambda: self.api.volumes.CreateVolume(request, **self.t), BUSY
            )
            if got.ok:
                self.ledger.add_volume(got.reply.id, got.reply.size_bytes)
        elif len(self.ledger.snapshots) < MAX_OWNED["snapshots"]:
            snap = s_pb.CreateSnapshotRequest(volume_id=volume_id, name=self.name("s"))
            got = self.call(
                "CreateSnapshot", lambda: self.api.snapshots.CreateSnapshot(snap, **self.t), BUSY
            )
            if got.ok:
                self.ledger.add_snapshot(got.reply.id, volume_id, got.reply.size_bytes)
        else:
            return self.delete_snapshot()
        if got.ok:
            self.expect(got.reply.size_bytes >= floor, f"copy of {volume_id} lost an extend")
        return True

    def create_common(self) -> bool:
        """A create every client makes with the same arguments: all get the one volume."""
        name = f"{self.run_id}-common{self.random.randrange(COMMON_NAMES)}"
        request = v_pb.CreateVolumeRequest(name=name, size_bytes=SIZE, volume_type=VOLUME_TYPE)
        got = self.call(
            "CreateVolume", lambda: self.api.volumes.CreateVolume(request, **self.t), BUSY
        )
        if got.ok:
            self.shared.created_common(name, got.reply.id)
        return True

    def read_shared(self) -> bool:
        volume_id = self.random.choice(self.shared.volume_ids)
        floor = self.shared.floor(volume_id)
        now = self.get("volumes", "GetVolume", v_pb.GetVolumeRequest(volume_id=volume_id))
        self.expect(now is not None, f"shared volume {volume_id} is gone")
        if now is not None:
            self.expect(now.size_bytes >= floor, f"{volume_id} lost an answered extend")
        self.get("groups", "ListGroups", g_pb.ListGroupsRequest(page_size=100))
        return True
