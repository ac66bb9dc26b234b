"""Helpers for the guest suite: commands, unit properties, cohortd's health."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import grpc

UNIT = "cohortd.service"
SOCKET = "/run/cohort/cohortd.sock"


def in_guest() -> bool:
    if os.environ.get("COHORT_GUEST") == "1":
        return True
    return Path("/run/systemd/system").is_dir() and Path(f"/etc/systemd/system/{UNIT}").exists()


def sh(*argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command in the guest, output captured as text."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


def unit_property(name: str, unit: str = UNIT) -> str:
    return sh("systemctl", "show", "--value", "-p", name, unit).stdout.strip()


def wait_serving(timeout: float = 120) -> str:
    """Poll cohortd's health service over the unix socket until SERVING; the last status."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    status = "no answer"
    while time.monotonic() < deadline:
        with channel() as ch:
            try:
                reply = health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=5
                )
                status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as e:
                status = f"{e.code().name}: {e.details()}"
        if status == "SERVING":
            return status
        time.sleep(0.5)
    return status


def kill_and_wait_restarted(whom: str = "all", timeout: float = 180) -> str:
    """SIGKILL cohortd's unit: every process of it ("all", as the OOM killer or a power cut
    would leave it) or only cohortd itself ("main", as `kill -9 $(pidof cohortd)`: a running
    lvm child finishes its command first); wait until systemd has started a new main process,
    and that one's health status."""
    before = unit_property("MainPID")
    sh("systemctl", "kill", f"--kill-whom={whom}", "--signal=KILL", UNIT)
    deadline = time.monotonic() + timeout
    while unit_property("MainPID") in (before, "0") and time.monotonic() < deadline:
        time.sleep(0.2)
    return wait_serving(timeout=max(1.0, deadline - time.monotonic()))


def channel() -> grpc.Channel:
    """A channel to cohortd over its unix socket."""
    return grpc.insecure_channel(f"unix://{SOCKET}")


def create_volume(name: str, size_bytes: int, volume_type: str = "smoke"):  # type: ignore[no-untyped-def]
    """A volume (and its volume type, created if missing: creates are idempotent by name)."""
    from cohort.v1 import types_pb2, types_pb2_grpc, volumes_pb2, volumes_pb2_grpc

    with channel() as ch:
        types_pb2_grpc.TypesStub(ch).CreateVolumeType(
            types_pb2.CreateVolumeTypeRequest(name=volume_type), timeout=60
        )
        return volumes_pb2_grpc.VolumesStub(ch).CreateVolume(
            volumes_pb2.CreateVolumeRequest(
                name=name, size_bytes=size_bytes, volume_type=volume_type
            ),
            timeout=120,
        )


def delete_volume(volume_id: str) -> None:
    from cohort.v1 import volumes_pb2, volumes_pb2_grpc

    with channel() as ch:
        volumes_pb2_grpc.VolumesStub(ch).DeleteVolume(
            volumes_pb2.DeleteVolumeRequest(volume_id=volume_id), timeout=120
        )
