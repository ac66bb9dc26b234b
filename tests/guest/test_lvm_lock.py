"""While another process holds the pool's LVM lock, cohort's LVM work waits for LVM and nothing
else waits: reads, types, groups without volumes and health all answer (in the guest, against
the cohortd that systemd runs on the LVM backend)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb

from .helpers import SOCKET
from .test_scenario import VG, Client, lvs

MiB = 1024**2
#: lvm2's file lock of a volume group (locking_dir in lvm.conf; flock(2) on the file).
VG_LOCK = f"/run/lock/lvm/V_{VG}"
#: Each call that needs no LVM must answer within this while LVM is blocked for much longer.
PROMPT = 15.0
HELD = 60


def lock_is_held() -> bool:
    probe = subprocess.run(["flock", "--nonblock", VG_LOCK, "true"], check=False)
    return probe.returncode != 0


@pytest.fixture
def api(cohortd: None) -> Iterator[Client]:
    with grpc.insecure_channel(f"unix://{SOCKET}") as channel:
        yield Client(channel)


def named(api: Client, name: str) -> v_pb.Volume | None:
    listed = api.volumes.ListVolumes(v_pb.ListVolumesRequest(page_size=1000), timeout=PROMPT)
    return next((v for v in listed.volumes if v.name == name), None)


def test_lvm_lock_held_elsewhere_stalls_only_lvm_work(api: Client) -> None:
    names = uuid.uuid4().hex[:6]
    api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name="thin"))
    api.types.CreateGroupType(t_pb.CreateGroupTypeRequest(name="generic"))
    before = api.volumes.CreateVolume(
        v_pb.CreateVolumeRequest(name=f"before-{names}", size_bytes=8 * MiB, volume_type="thin")
    )
    holder = subprocess.Popen(["flock", VG_LOCK, "sleep", str(HELD)])
    try:
        deadline = time.monotonic() + 30
        while not lock_is_held():
            assert time.monotonic() < deadline, "the lock holder never took the VG lock"
            time.sleep(0.1)
        answers: list[v_pb.Volume] = []
        create = threading.Thread(
            target=lambda: answers.append(
                api.volumes.CreateVolume(
                    v_pb.CreateVolumeRequest(
                        name=f"during-{names}", size_bytes=8 * MiB, volume_type="thin"
                    ),
                    timeout=HELD + 120,
                )
            )
        )
        create.start()
        while not named(api, f"during-{names}"):
            time.sleep(0.1)  # until the create has planned; then it waits for LVM
        assert create.is_alive() and holder.poll() is None

        # Meanwhile, everything that needs no LVM answers.
        assert api.volume(before.id).name == f"before-{names}"
        assert api.volumes.ListVolumes(v_pb.ListVolumesRequest(), timeout=PROMPT).volumes
        api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name=f"t-{names}"), timeout=PROMPT)
        group = api.groups.CreateGroup(
            g_pb.CreateGroupRequest(name=f"g-{names}", group_type="generic", volume_types=["thin"]),
            timeout=PROMPT,
        )
        api.groups.UpdateGroup(
            g_pb.UpdateGroupRequest(group_id=group.id, description="renamed while LVM waits"),
            timeout=PROMPT,
        )
        api.groups.DeleteGroup(g_pb.DeleteGroupRequest(group_id=group.id), timeout=PROMPT)
        health = health_pb2_grpc.HealthStub(api.channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=PROMPT
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        # A second change of the volume being created is refused at once, not queued.
        during = named(api, f"during-{names}")
        assert during is not None
        try:
            api.volumes.DeleteVolume(v_pb.DeleteVolumeRequest(volume_id=during.id), timeout=PROMPT)
            raise AssertionError("deleting a volume that is being created must be refused")
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
            assert exc.details().startswith("busy:")
        assert create.is_alive(), "the create waits for LVM as long as the lock is held"
    finally:
        holder.terminate()
        holder.wait(30)
    create.join(HELD + 120)
    (made,) = answers
    assert getattr(made, "name") == f"during-{names}"  # noqa: B009
    names_in_pool = {lv["lv_name"] for lv in lvs()}
    for vol in (before, made):
        assert f"volume-{vol.id}" in names_in_pool
        api.volumes.DeleteVolume(v_pb.DeleteVolumeRequest(volume_id=getattr(vol, "id")))  # noqa: B009
