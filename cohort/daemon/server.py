"""The gRPC server: every cohort.v1 service, health and reflection, on the unix socket (always)
and on TCP with TLS (when configured), behind the one interceptor."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import socket
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from cohort.daemon import servicers
from cohort.daemon.broadcaster import Broadcaster
from cohort.daemon.config import ServerConfig
from cohort.daemon.interceptor import RequestInterceptor

if TYPE_CHECKING:
    from cohort.manager import Manager

log = structlog.get_logger(__name__)

#: Worker threads. Each open WatchCapabilities or health Watch stream holds one.
MAX_WORKERS = 64
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class StartupError(Exception):
    """cohortd cannot serve as configured (socket in use, bad owner, unreadable TLS files...)."""


class GrpcServer:
    def __init__(
        self,
        config: ServerConfig,
        manager: Manager,
        broadcaster: Broadcaster,
        *,
        capabilities_interval: float,
    ) -> None:
        self._config = config
        self._broadcaster = broadcaster
        self._socket = Path(config.socket)
        self.tcp_port: int | None = None
        self._bound = False
        self._server: Any = grpc.server(
            ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="grpc"),
            interceptors=[RequestInterceptor()],
            options=[("grpc.so_reuseport", 0)],
        )
        servicers.register(self._server, manager, broadcaster, capabilities_interval)
        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        self.service_names = (
            *servicers.SERVICE_NAMES,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(self.service_names, self._server)
        self._set_health(NOT_SERVING)

    @property
    def socket_path(self) -> Path:
        return self._socket

    def start(self) -> None:
        self._bind_unix()
        if self._config.tcp_address:
            self._bind_tcp()
        self._server.start()
        self._secure_socket()
        self._set_health(SERVING)
        log.info("serving", socket=str(self._socket), tcp_port=self.tcp_port)

    def stop(self, grace: float | None = None) -> None:
        """Refuse new RPCs, end the capability streams, give running RPCs `grace` seconds."""
        self._health.enter_graceful_shutdown()
        self._broadcaster.close()
        grace = self._config.grace_seconds if grace is None else grace
        self._server.stop(grace).wait()
        if self._bound:
            self._bound = False
            with contextlib.suppress(FileNotFoundError):
                self._socket.unlink()
        log.info("stopped")

    def _set_health(self, status: Any) -> None:
        for name in ("", *servicers.SERVICE_NAMES):
            self._health.set(name, status)

    def _bind_unix(self) -> None:
        self._socket.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_socket(self._socket)
        # Bind with a umask that leaves no more than socket_mode, then chmod: no window in which
        # the socket is more open than configured.
        old = os.umask(0o777 & ~self._config.socket_mode_bits)
        try:
            self._server.add_insecure_port(f"unix:{self._socket}")
        except RuntimeError as exc:
            raise StartupError(f"cannot listen on {self._socket}: {exc}") from exc
        finally:
            os.umask(old)
        self._bound = True  # the socket file is ours to remove

    def _secure_socket(self) -> None:
        os.chmod(self._socket, self._config.socket_mode_bits)
        uid = _uid(self._config.socket_owner)
        gid = _gid(self._config.socket_group)
        if uid != -1 or gid != -1:
            try:
                os.chown(self._socket, uid, gid)
            except OSError as exc:
                raise StartupError(f"cannot chown {self._socket}: {exc}") from exc

    def _bind_tcp(self) -> None:
        cfg = self._config
        try:
            key = Path(cfg.tls_key).read_bytes()
            cert = Path(cfg.tls_cert).read_bytes()
            ca = Path(cfg.tls_client_ca).read_bytes() if cfg.tls_client_ca else None
        except OSError as exc:
            raise StartupError(f"cannot read TLS files: {exc}") from exc
        credentials = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
        )
        try:
            self.tcp_port = self._server.add_secure_port(cfg.tcp_address, credentials)
        except RuntimeError as exc:
            raise StartupError(f"cannot listen on {cfg.tcp_address}: {exc}") from exc


def _remove_stale_socket(path: Path) -> None:
    """Remove a socket file left by a dead cohortd; refuse if a live one answers on it."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise StartupError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # nobody listens: stale
        log.info("removed stale socket", socket=str(path))
        return
    finally:
        probe.close()
    raise StartupError(f"{path} is in use by another process")


def _uid(owner: str) -> int:
    if not owner:
        return -1
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise StartupError(f"[server] socket_owner: no user {owner!r}") from None


def _gid(group: str) -> int:
    if not group:
        return -1
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise StartupError(f"[server] socket_group: no group {group!r}") from None
