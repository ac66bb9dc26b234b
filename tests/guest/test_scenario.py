"""The core scenario over gRPC against cohortd on the real LVM backend (runs in the guest, as
root, against the cohortd that systemd runs): data written through the gates, a group snapshot,
a group from it and a clone of the group compared byte for byte; extend under I/O; capacity
against `lvs`; restart and kill -9 mid-create; deletes leave no LV and no gate; bad input."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest

from cohort.v1 import capabilities_pb2 as cap_pb
from cohort.v1 import (
    capabilities_pb2_grpc,
    group_snapshots_pb2_grpc,
    groups_pb2_grpc,
    snapshots_pb2_grpc,
    types_pb2_grpc,
    volumes_pb2_grpc,
)
from cohort.v1 import common_pb2 as c
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb

from .helpers import SOCKET, UNIT, kill_and_wait_restarted, sh, wait_serving

MiB = 1024**2
VG, POOL = "cohort", "pool"
TAG = "cohort_id_"


@dataclass
class Client:
    channel: grpc.Channel

    def __post_init__(self) -> None:
        self.types = types_pb2_grpc.TypesStub(self.channel)
        self.volumes = volumes_pb2_grpc.VolumesStub(self.channel)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(self.channel)
        self.groups = groups_pb2_grpc.GroupsStub(self.channel)
        self.group_snapshots = group_snapshots_pb2_grpc.GroupSnapshotsStub(self.channel)
        self.capabilities = capabilities_pb2_grpc.CapabilitiesStub(self.channel)

    def volume(self, volume_id: str) -> v_pb.Volume:
        return self.volumes.GetVolume(v_pb.GetVolumeRequest(volume_id=volume_id))

    def pool(self) -> cap_pb.PoolCapabilities:
        caps = self.capabilities.GetCapabilities(cap_pb.GetCapabilitiesRequest())
        return caps.pools[0]

    def everything(self) -> dict[str, str]:
        """id -> kind and status ("volume AVAILABLE") of every volume, snapshot, group and
        group snapshot."""
        found = {}
        for v in self.volumes.ListVolumes(v_pb.ListVolumesRequest(page_size=1000)).volumes:
            found[v.id] = f"volume {c.VolumeStatus.Name(v.status).removeprefix('VOLUME_STATUS_')}"
        for s in self.snapshots.ListSnapshots(s_pb.ListSnapshotsRequest(page_size=1000)).snapshots:
            status = c.SnapshotStatus.Name(s.status).removeprefix("SNAPSHOT_STATUS_")
            found[s.id] = f"snapshot {status}"
        for g in self.groups.ListGroups(g_pb.ListGroupsRequest(page_size=1000)).groups:
            found[g.id] = f"group {c.GroupStatus.Name(g.status).removeprefix('GROUP_STATUS_')}"
        gsl = self.group_snapshots.ListGroupSnapshots(gs_pb.ListGroupSnapshotsRequest())
        for gs in gsl.group_snapshots:
            status = c.SnapshotStatus.Name(gs.status).removeprefix("SNAPSHOT_STATUS_")
            found[gs.id] = f"group snapshot {status}"
        return found


@pytest.fixture
def api(cohortd: None) -> Iterator[Client]:
    with grpc.insecure_channel(f"unix://{SOCKET}") as channel:
        yield Client(channel)


@pytest.fixture
def names() -> str:
    """A suffix that keeps each test's names its own."""
    return uuid.uuid4().hex[:6]


def lvs() -> list[dict[str, str]]:
    out = sh(
        "lvs",
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        "lv_name,lv_size,lv_tags,pool_lv,data_percent,metadata_percent",
        VG,
    ).stdout
    return list(json.loads(out)["report"][0]["lv"])


def cohort_lvs() -> dict[str, str]:
    """cohort id -> LV name of every LV cohort tagged."""
    found = {}
    for lv in lvs():
        for tag in lv["lv_tags"].split(","):
            if tag.startswith(TAG):
                found[tag[len(TAG) :]] = lv["lv_name"]
    return found


def gates() -> set[str]:
    out = sh("dmsetup", "ls", "--target", "linear").stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith("cohort-gate-")}


def write(path: str, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_SYNC)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: str, offset: int, length: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def assert_capacity_matches_lvs(api: Client) -> None:
    pool = api.pool()
    rows = lvs()
    (pool_row,) = [r for r in rows if r["lv_name"] == POOL]
    thin = [r for r in rows if r["pool_lv"] == POOL]
    assert pool.total_capacity_bytes == int(pool_row["lv_size"])
    assert pool.provisioned_capacity_bytes == sum(int(r["lv_size"]) for r in thin)
    used = max(float(pool_row["data_percent"]), float(pool_row["metadata_percent"]))
    expected_free = int(pool_row["lv_size"]) * (1 - used / 100)
    assert abs(pool.free_capacity_bytes - expected_free) <= int(pool_row["lv_size"]) / 1000


def make_types(api: Client) -> None:
    api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name="thin"))
    api.types.CreateGroupType(t_pb.CreateGroupTypeRequest(name="generic"))


def make_group(api: Client, name: str, count: int = 3) -> g_pb.Group:
    make_types(api)
    group = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name=name, group_type="generic", volume_types=["thin"])
    )
    for i in range(count):
        vol = api.volumes.CreateVolume(
            v_pb.CreateVolumeRequest(
                name=f"{name}-v{i}", size_bytes=64 * MiB, volume_type="thin", group_id=group.id
            )
        )
        assert vol.device_path.startswith("/dev/mapper/cohort-gate-")
        write(vol.device_path, 0, f"{vol.name} block 0".encode().ljust(4096, b"."))
        write(vol.device_path, 48 * MiB, os.urandom(MiB))
    return api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group.id))


def delete_all(api: Client) -> None:
    for gs in api.group_snapshots.ListGroupSnapshots(
        gs_pb.ListGroupSnapshotsRequest()
    ).group_snapshots:
        api.group_snapshots.DeleteGroupSnapshot(
            gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id)
        )
    for s in api.snapshots.ListSnapshots(s_pb.ListSnapshotsRequest()).snapshots:
        api.snapshots.DeleteSnapshot(s_pb.DeleteSnapshotRequest(snapshot_id=s.id))
    for g in api.groups.ListGroups(g_pb.ListGroupsRequest()).groups:
        api.groups.DeleteGroup(g_pb.DeleteGroupRequest(group_id=g.id, delete_volumes=True))
    for v in api.volumes.ListVolumes(v_pb.ListVolumesRequest()).volumes:
        api.volumes.DeleteVolume(v_pb.DeleteVolumeRequest(volume_id=v.id))


def same_content(a: str, b: str) -> bool:
    return read(a, 0, 64 * MiB) == read(b, 0, 64 * MiB)


def test_scenario_snapshot_from_snapshot_clone_and_deletes(api: Client, names: str) -> None:
    group = make_group(api, f"g-{names}")
    assert_capacity_matches_lvs(api)
    sources = [api.volume(v) for v in group.volume_ids]
    before = {v.id: read(v.device_path, 0, 64 * MiB) for v in sources}

    gs = api.group_snapshots.CreateGroupSnapshot(
        gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"gs-{names}")
    )
    assert gs.status == c.SNAPSHOT_STATUS_AVAILABLE and len(gs.snapshot_ids) == 3
    assert_capacity_matches_lvs(api)
    for vol in sources:  # writes after the snapshot must not reach it
        write(vol.device_path, 0, b"after the snapshot".ljust(4096, b"!"))

    from_snap = api.groups.CreateGroupFromSource(
        g_pb.CreateGroupFromSourceRequest(name=f"fs-{names}", group_snapshot_id=gs.id)
    )
    assert from_snap.status == c.GROUP_STATUS_AVAILABLE
    for new_id in from_snap.volume_ids:
        new = api.volume(new_id)
        origin = next(
            s
            for s in api.snapshots.ListSnapshots(
                s_pb.ListSnapshotsRequest(group_snapshot_id=gs.id)
            ).snapshots
            if s.id == new.source_snapshot_id
        )
        assert read(new.device_path, 0, 64 * MiB) == before[origin.volume_id]
    assert_capacity_matches_lvs(api)

    clone = api.groups.CreateGroupFromSource(
        g_pb.CreateGroupFromSourceRequest(name=f"cl-{names}", source_group_id=group.id)
    )
    assert clone.source_group_id == group.id
    for new_id in clone.volume_ids:
        new = api.volume(new_id)
        assert same_content(new.device_path, api.volume(new.source_volume_id).device_path)
    assert_capacity_matches_lvs(api)

    assert set(cohort_lvs()) <= set(api.everything())  # no LV without its object
    delete_all(api)
    assert_capacity_matches_lvs(api)
    assert cohort_lvs() == {}
    assert gates() == set()


def test_extend_under_io(api: Client, names: str) -> None:
    make_types(api)
    vol = api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(name=f"x-{names}", size_bytes=64 * MiB, volume_type="thin")
    )
    errors: list[BaseException] = []
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        block = os.urandom(64 * 1024)
        try:
            while not stop.is_set():
                offset = (written[0] % 256) * len(block)
                write(vol.device_path, offset, block)
                written[0] += 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1)
    grown = api.volumes.ExtendVolume(
        v_pb.ExtendVolumeRequest(volume_id=vol.id, new_size_bytes=128 * MiB)
    )
    time.sleep(1)
    stop.set()
    thread.join()
    assert not errors and written[0] > 0
    assert grown.size_bytes == 128 * MiB and grown.status == c.VOLUME_STATUS_AVAILABLE
    assert int(sh("blockdev", "--getsize64", vol.device_path).stdout) == 128 * MiB
    write(vol.device_path, 100 * MiB, b"beyond the old end".ljust(4096, b"x"))
    assert read(vol.device_path, 100 * MiB, 18) == b"beyond the old end"
    assert_capacity_matches_lvs(api)
    delete_all(api)


def test_restart_keeps_every_object(api: Client, names: str) -> None:
    group = make_group(api, f"r-{names}", count=2)
    api.group_snapshots.CreateGroupSnapshot(
        gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"rs-{names}")
    )
    before = api.everything()
    paths = {v: api.volume(v).device_path for v in group.volume_ids}
    sh("systemctl", "restart", UNIT)
    assert wait_serving() == "SERVING"
    assert api.everything() == before
    for path in paths.values():
        assert read(path, 0, 16).startswith(b"r-")
    delete_all(api)


def kill_during(call: Callable[[], object], reached: Callable[[], bool], whom: str = "all") -> None:
    """Run `call` in a thread; once `reached()` (or the call is over), SIGKILL cohortd's unit
    (`whom`: see kill_and_wait_restarted); wait until systemd has it SERVING again."""

    def run() -> None:
        with contextlib.suppress(grpc.RpcError):  # the call dies with the daemon, or completes
            call()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not reached() and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert kill_and_wait_restarted(whom) == "SERVING"
    thread.join(timeout=120)


def sources_intact(api: Client, sources: dict[str, bytes]) -> None:
    for volume_id, data in sources.items():
        vol = api.volume(volume_id)
        assert vol.status == c.VOLUME_STATUS_AVAILABLE
        assert read(vol.device_path, 0, 64 * MiB) == data


@pytest.mark.parametrize(
    ("point", "whom"), [("first LV", "all"), ("first gate", "all"), ("first LV", "main")]
)
def test_kill_mid_create_is_reconciled(api: Client, names: str, point: str, whom: str) -> None:
    """kill -9 while a clone of a group is being made (after its first LV, or after the LVs
    when the gates are being made; the whole unit, or cohortd alone while its lvm child runs
    on): at restart every LV belongs to an object, the source is untouched, and the clone
    either completed or is in error with no backing left."""
    group = make_group(api, f"k-{names}", count=4)
    sources = {v: read(api.volume(v).device_path, 0, 64 * MiB) for v in group.volume_ids}
    known_lvs, known_gates = set(cohort_lvs()), gates()
    kill_during(
        lambda: api.groups.CreateGroupFromSource(
            g_pb.CreateGroupFromSourceRequest(name=f"kc-{names}", source_group_id=group.id)
        ),
        lambda: set(cohort_lvs()) != known_lvs if point == "first LV" else gates() != known_gates,
        whom,
    )
    held = cohort_lvs()
    assert set(held) <= set(api.everything()), "an LV with no object after the restart"
    sources_intact(api, sources)
    listed = api.groups.ListGroups(g_pb.ListGroupsRequest()).groups
    (clone,) = [g for g in listed if g.id != group.id]
    members = [api.volume(v) for v in clone.volume_ids]
    if clone.status == c.GROUP_STATUS_AVAILABLE:
        for vol in members:
            assert vol.status == c.VOLUME_STATUS_AVAILABLE
            assert read(vol.device_path, 0, 64 * MiB) == sources[vol.source_volume_id]
    else:
        assert clone.status == c.GROUP_STATUS_ERROR
        for vol in members:
            assert vol.status == c.VOLUME_STATUS_ERROR and vol.id not in held
    delete_all(api)
    assert cohort_lvs() == {} and gates() == set()


def test_kill_mid_group_snapshot_is_reconciled(api: Client, names: str) -> None:
    """kill -9 after the first snapshot LV of a group snapshot: the group and its data are
    untouched; the group snapshot is whole and available, or in error with no LV left."""
    group = make_group(api, f"ks-{names}", count=4)
    sources = {v: read(api.volume(v).device_path, 0, 64 * MiB) for v in group.volume_ids}
    known_lvs = set(cohort_lvs())
    kill_during(
        lambda: api.group_snapshots.CreateGroupSnapshot(
            gs_pb.CreateGroupSnapshotRequest(group_id=group.id, name=f"ks-{names}")
        ),
        lambda: set(cohort_lvs()) != known_lvs,
    )
    held = cohort_lvs()
    assert set(held) <= set(api.everything()), "an LV with no object after the restart"
    sources_intact(api, sources)
    assert api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group.id)).status == (
        c.GROUP_STATUS_AVAILABLE
    )
    (gs,) = api.group_snapshots.ListGroupSnapshots(
        gs_pb.ListGroupSnapshotsRequest()
    ).group_snapshots
    snaps = [
        api.snapshots.GetSnapshot(s_pb.GetSnapshotRequest(snapshot_id=i)) for i in gs.snapshot_ids
    ]
    if gs.status == c.SNAPSHOT_STATUS_AVAILABLE:
        assert len(snaps) == 4 and all(s.status == c.SNAPSHOT_STATUS_AVAILABLE for s in snaps)
        assert all(s.id in held for s in snaps)
    else:
        assert gs.status == c.SNAPSHOT_STATUS_ERROR
        assert all(s.status == c.SNAPSHOT_STATUS_ERROR and s.id not in held for s in snaps)
    delete_all(api)
    assert cohort_lvs() == {} and gates() == set()


def test_kill_mid_delete_with_volumes_rolls_forward(api: Client, names: str) -> None:
    """kill -9 once the first LV of a group being deleted with its volumes is gone: at restart
    the delete is finished: no group, no volume, no LV, no gate."""
    group = make_group(api, f"kd-{names}", count=4)
    ours = set(group.volume_ids)
    kill_during(
        lambda: api.groups.DeleteGroup(
            g_pb.DeleteGroupRequest(group_id=group.id, delete_volumes=True)
        ),
        lambda: not ours <= set(cohort_lvs()),
    )
    assert api.everything() == {}
    assert cohort_lvs() == {} and gates() == set()


@pytest.mark.parametrize("bad", ["-rf", "--help", "-", "a/b", "x\ny", "$(reboot)", "a;b", ""])
def test_bad_names_never_reach_lvm(api: Client, bad: str) -> None:
    make_types(api)
    with pytest.raises(grpc.RpcError) as info:
        api.volumes.CreateVolume(
            v_pb.CreateVolumeRequest(name=bad, size_bytes=MiB, volume_type="thin")
        )
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert cohort_lvs() == {}


def test_odd_but_valid_names_stay_out_of_lvm_names(api: Client, names: str) -> None:
    make_types(api)
    vol = api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(name=f"my vol:{names}@x", size_bytes=MiB, volume_type="thin")
    )
    lv_name = cohort_lvs()[vol.id]
    assert vol.id in lv_name and names not in lv_name
    delete_all(api)
