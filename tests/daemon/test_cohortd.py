"""A real `cohortd` process with a temp config (sim backend): ready over sd_notify, serves the
unix socket and metrics, and exits 0 on SIGTERM after a graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cohort.v1 import types_pb2, types_pb2_grpc

from .conftest import free_port


def test_cohortd_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    sock_path = tmp_path / "run" / "cohortd.sock"
    metrics_port = free_port()
    config = tmp_path / "cohortd.toml"
    config.write_text(
        f"""
        [server]
        socket = "{sock_path}"
        grace_seconds = 2
        [state]
        directory = "{tmp_path / "state"}"
        [metrics]
        address = "127.0.0.1:{metrics_port}"
        [backend]
        kind = "sim"
        [backend.sim]
        capacity_bytes = 10737418240
        """
    )
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "COHORT_LOGGING_LEVEL": "debug"}
    argv = [sys.executable, "-m", "cohort.daemon.main", "--config", str(config)]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert notify.recv(64) == b"READY=1"
        with grpc.insecure_channel(f"unix://{sock_path}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING
            types = types_pb2_grpc.TypesStub(channel)
            types.CreateVolumeType(types_pb2.CreateVolumeTypeRequest(name="gold"), timeout=5)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as response:
            text = response.read().decode()
        assert (
            'cohort_grpc_requests_total{code="OK",method="/cohort.v1.Types/CreateVolumeType"}'
            in text
        )

        proc.send_signal(signal.SIGTERM)
        assert notify.recv(64) == b"STOPPING=1"
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
    assert proc.returncode == 0, stderr
    assert not sock_path.exists()
    assert '"event": "bye"' in stderr
    assert (tmp_path / "state" / "cohort.db").exists()


def test_cohortd_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "cohortd.toml"
    config.write_text('[backend]\nkind = "zfs"\n')
    env = {**os.environ, "COHORT_SERVER_SOCKET": str(tmp_path / "s.sock")}
    env["COHORT_STATE_DIRECTORY"] = str(tmp_path / "state")
    env["COHORT_METRICS_ADDRESS"] = ""
    argv = [sys.executable, "-m", "cohort.daemon.main", "--config", str(config)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "kind 'zfs' is not one of:" in result.stderr
    assert not (tmp_path / "state").exists()
