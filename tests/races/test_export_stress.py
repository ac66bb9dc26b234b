"""Exports under load: threads on channels of their own export, unexport, extend and delete a few
volumes (two of them in a group that is snapshotted meanwhile) for a few initiators, retrying
BUSY. Every answer is one of its call's documented codes; at the end the store and the target
agree (tests.exported), and a restore (what the next start runs) changes nothing."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from cohort.v1 import exports_pb2 as e_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.answers import BUSY, OK, answer
from tests.exported import INITIATORS, connector, memory_targets
from tests.inprocess import Stubs
from tests.races.world import SIZE, TIMEOUT, World

THREADS = 16
CALLS = 24
ATTACHMENTS = ("", "att-1", "att-2")
#: A BUSY call is retried this many times at most (each after a short pause).
RETRIES = 200
PAUSE = 0.002

CODE = grpc.StatusCode
#: Each call's documented codes besides OK and BUSY, given what the others may do meanwhile.
LEGAL: dict[str, set[grpc.StatusCode]] = {
    "ExportVolume": {CODE.NOT_FOUND},
    "Unexport": {CODE.NOT_FOUND},
    "ExtendVolume": {CODE.NOT_FOUND, CODE.INVALID_ARGUMENT},
    "DeleteVolume": {CODE.NOT_FOUND, CODE.FAILED_PRECONDITION},
    "CreateGroupSnapshot": set(),
    "DeleteGroupSnapshot": set(),
}


class Worker:
    def __init__(self, index: int, target: str, world: World, volumes: list[str], group: str):
        self.random = random.Random(index)
        self.channel = grpc.insecure_channel(target)
        self.stubs = Stubs(self.channel)
        self.world = world
        self.volumes = volumes
        self.group = group
        self.index = index
        self.problems: list[str] = []
        self.codes: Counter[str] = Counter()

    def call(self, operation: str, do: Callable[[Stubs], Any]) -> Any:
        """`do` until it is not BUSY; its reply (None unless OK). Codes outside LEGAL are
        problems."""
        for _ in range(RETRIES):
            got = answer(lambda: do(self.stubs))
            self.codes[f"{operation} {got.code.name}"] += 1
            if got.code is not BUSY:
                break
            time.sleep(PAUSE)
        if got.code not in {OK, BUSY, *LEGAL[operation]}:
            self.problems.append(f"{operation}: {got}")
        return got.reply

    def run(self) -> None:
        try:
            for _ in range(CALLS):
                self.step()
        finally:
            self.channel.close()

    def step(self) -> None:
        vol = self.random.choice(self.volumes)
        initiator = self.random.choice(INITIATORS)
        attachment = self.random.choice(ATTACHMENTS)
        what = self.random.choices(
            ["export", "unexport", "extend", "delete", "group snapshot"], [6, 4, 2, 1, 1]
        )[0]
        if what == "export":
            request = e_pb.ExportVolumeRequest(
                volume_id=vol, connector=connector(initiator), attachment_id=attachment
            )
            self.call("ExportVolume", lambda s: s.exports.ExportVolume(request, timeout=TIMEOUT))
        elif what == "unexport":
            unexport = e_pb.UnexportRequest(object_id=vol)
            if self.random.random() < 0.8:
                unexport.connector.CopyFrom(connector(initiator))
                unexport.attachment_id = attachment
            self.call("Unexport", lambda s: s.exports.Unexport(unexport, timeout=TIMEOUT))
        elif what == "extend":
            got = self.world.get_volume(vol)
            size = (got.size_bytes if got else SIZE) + SIZE
            extend = v_pb.ExtendVolumeRequest(volume_id=vol, new_size_bytes=size)
            self.call("ExtendVolume", lambda s: s.volumes.ExtendVolume(extend, timeout=TIMEOUT))
        elif what == "delete":
            delete = v_pb.DeleteVolumeRequest(volume_id=vol)
            self.call("DeleteVolume", lambda s: s.volumes.DeleteVolume(delete, timeout=TIMEOUT))
        else:
            self.group_snapshot()

    def group_snapshot(self) -> None:
        name = f"gs-{self.index}-{self.random.randrange(1 << 30)}"
        take = gs_pb.CreateGroupSnapshotRequest(group_id=self.group, name=name)
        made = self.call(
            "CreateGroupSnapshot",
            lambda s: s.group_snapshots.CreateGroupSnapshot(take, timeout=TIMEOUT),
        )
        if made is not None:
            drop = gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=made.id)
            self.call(
                "DeleteGroupSnapshot",
                lambda s: s.group_snapshots.DeleteGroupSnapshot(drop, timeout=TIMEOUT),
            )


def test_exports_under_load(world: World, socket: Path) -> None:
    group = world.group(members=2)
    volumes = [*group.volume_ids, world.volume().id, world.volume().id]
    workers = [Worker(i, f"unix://{socket}", world, volumes, group.id) for i in range(THREADS)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker did not finish (deadlock?)"
    print(sum((w.codes for w in workers), Counter()))
    problems = [p for w in workers for p in w.problems] + world.problems()
    assert not problems, "\n".join(problems[:30])

    manager = world.daemon.manager
    lio = memory_targets(manager)
    before, calls = dict(lio.targets), len(lio.calls)
    with manager.store.transaction(readonly=True) as tx:
        stored = sorted(e.target_iqn for e in tx.exports.find())
    assert stored, "nothing stayed exported: the load did not load"
    done = manager.restore_exports()
    assert sorted(done.published) == stored
    assert (done.withdrawn, done.disabled, done.failed) == ([], [], {})
    assert lio.targets == before
    assert {call for call, _ in lio.calls[calls:]} == {"publish"}
    assert not world.problems()
