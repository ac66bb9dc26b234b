"""The server's transports and standard services: unix socket (mode, stale file), TCP with TLS
and mutual TLS, health, reflection."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cohort.daemon.config import ServerConfig
from cohort.daemon.server import GrpcServer, StartupError
from cohort.daemon.servicers import SERVICE_NAMES
from cohort.v1 import types_pb2, types_pb2_grpc

from .certs import Certs
from .conftest import Daemon, Serve


def list_types(channel: grpc.Channel) -> types_pb2.ListVolumeTypesResponse:
    stub = types_pb2_grpc.TypesStub(channel)
    return stub.ListVolumeTypes(types_pb2.ListVolumeTypesRequest(), timeout=5)


def test_socket_mode_default_0660(daemon: Daemon) -> None:
    mode = daemon.server.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660


def test_socket_mode_configured(serve: Serve, tmp_path: Path) -> None:
    d = serve(socket=str(tmp_path / "deep" / "dir" / "c.sock"), socket_mode="0600")
    assert stat.S_IMODE(d.server.socket_path.stat().st_mode) == 0o600
    list_types(d.api.channel)


def test_socket_owner_and_group_by_name(serve: Serve) -> None:
    import grp
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    d = serve(socket_owner=user, socket_group=group)
    st = d.server.socket_path.stat()
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_unknown_socket_owner_is_refused(serve: Serve) -> None:
    with pytest.raises(StartupError, match="no user"):
        serve(socket_owner="no-such-user-cohort")


def test_stale_socket_is_replaced_and_live_one_refused(serve: Serve, tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    d = serve(socket=str(path))
    list_types(d.api.channel)
    second = GrpcServer(
        ServerConfig(socket=str(path)), d.manager, d.broadcaster, capabilities_interval=30
    )
    with pytest.raises(StartupError, match="in use"):
        second.start()
    second.stop(0)  # does not remove the live server's socket
    assert path.exists()
    list_types(d.api.channel)


def test_socket_path_that_is_not_a_socket_is_refused(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StartupError, match="not a socket"):
        serve(socket=str(tmp_path / "file"))


def test_socket_is_removed_at_stop(daemon: Daemon) -> None:
    daemon.server.stop(0)
    assert not daemon.server.socket_path.exists()


def tls_server(serve: Serve, certs: Certs, mutual: bool) -> Daemon:
    return serve(
        tcp_address="127.0.0.1:0",
        tls_cert=str(certs.server_cert),
        tls_key=str(certs.server_key),
        tls_client_ca=str(certs.ca) if mutual else "",
    )


@pytest.fixture
def channels() -> Iterator[list[grpc.Channel]]:
    opened: list[grpc.Channel] = []
    yield opened
    for channel in opened:
        channel.close()


def tls_channel(
    port: int, certs: Certs, opened: list[grpc.Channel], client_cert: bool
) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        certs.read("ca"),
        certs.read("client_key") if client_cert else None,
        certs.read("client_cert") if client_cert else None,
    )
    channel = grpc.secure_channel(f"127.0.0.1:{port}", credentials)
    opened.append(channel)
    return channel


def test_tls(serve: Serve, certs: Certs, channels: list[grpc.Channel]) -> None:
    d = tls_server(serve, certs, mutual=False)
    assert d.server.tcp_port
    list_types(tls_channel(d.server.tcp_port, certs, channels, client_cert=False))
    plain = grpc.insecure_channel(f"127.0.0.1:{d.server.tcp_port}")
    channels.append(plain)
    with pytest.raises(grpc.RpcError) as info:
        list_types(plain)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls(serve: Serve, certs: Certs, channels: list[grpc.Channel]) -> None:
    d = tls_server(serve, certs, mutual=True)
    assert d.server.tcp_port
    list_types(tls_channel(d.server.tcp_port, certs, channels, client_cert=True))
    with pytest.raises(grpc.RpcError) as info:
        list_types(tls_channel(d.server.tcp_port, certs, channels, client_cert=False))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    list_types(d.api.channel)  # the unix socket needs no certificate


def test_health_serving_for_every_service(daemon: Daemon) -> None:
    stub = health_pb2_grpc.HealthStub(daemon.api.channel)
    for name in ("", *SERVICE_NAMES):
        response = stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING, name


def test_health_not_serving_once_shutdown_starts(daemon: Daemon) -> None:
    stub = health_pb2_grpc.HealthStub(daemon.api.channel)
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""))
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    daemon.server.stop(1.0)
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    watch.cancel()


def test_reflection_lists_every_service(daemon: Daemon) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(daemon.api.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (response,) = list(stub.ServerReflectionInfo(iter([request])))
    names = {s.name for s in response.list_services_response.service}
    assert names == {
        *SERVICE_NAMES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert "cohort.v1.ConsistencyGroups" in names
