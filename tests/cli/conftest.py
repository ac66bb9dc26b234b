"""An in-process gRPC server on a unix socket with recording fake servicers, and a CLI runner."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cohort.cli.main import main

from .fakes import SERVICES, Backend, Cli, Result, Server, fake_servicer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    backend = Backend()
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    for pb2, grpc_module, service in SERVICES:
        adder = getattr(grpc_module, f"add_{service}Servicer_to_server")
        adder(fake_servicer(pb2, grpc_module, service, backend), grpc_server)
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, grpc_server)
    endpoint = f"unix://{tmp_path / 'cohortd.sock'}"
    grpc_server.add_insecure_port(endpoint)
    grpc_server.start()
    try:
        yield Server(endpoint, backend, health_servicer)
    finally:
        grpc_server.stop(None)


@pytest.fixture
def cli(server: Server, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs cohortctl in-process against `server`: cli("list", "--status", "error")."""
    return cli_for(server.endpoint, capsys)


def cli_for(endpoint: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs cohortctl in-process against `endpoint`, its output captured."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(["--endpoint", endpoint, "--timeout", "10", *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Result(code, captured.out, captured.err)

    return run
