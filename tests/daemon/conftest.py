"""The daemon under test: real servicers, manager, in-memory SQL store and sim backend, served
by GrpcServer on a unix socket in tmp, with a stub for every service."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.inprocess import GIB, Daemon, Stubs

__all__ = ["GIB", "Daemon", "Stubs"]

from .certs import Certs, make_certs


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""
    return make_certs(tmp_path_factory.mktemp("certs"))


Serve = Callable[..., Daemon]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """serve(interval=..., **server_config) -> a started Daemon; all are stopped at teardown."""
    started: list[Daemon] = []

    def start(interval: float = 30.0, **server_config: object) -> Daemon:
        server_config.setdefault("socket", str(tmp_path / f"s{len(started)}" / "cohortd.sock"))
        socket_path = Path(str(server_config.pop("socket")))
        started.append(Daemon(socket_path, interval, **server_config))
        return started[-1]

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def daemon(serve: Serve) -> Daemon:
    return serve()


@pytest.fixture
def api(daemon: Daemon) -> Stubs:
    return daemon.api
