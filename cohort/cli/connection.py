"""Endpoint parsing and channel construction (unix socket, TCP, TLS, mutual TLS)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

DEFAULT_ENDPOINT = "unix:///run/cohort/cohortd.sock"


class EndpointError(Exception):
    """A local problem that prevents connecting (bad endpoint, unreadable TLS file)."""


@dataclass(frozen=True)
class ConnectionOptions:
    endpoint: str = DEFAULT_ENDPOINT
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_server_name: str | None = None


def normalize_target(endpoint: str) -> tuple[str, bool]:
    """The gRPC target for `endpoint` and whether it is a unix socket.

    ``unix:///path``, ``unix:path`` and a bare absolute path are unix sockets; ``host:port``,
    ``tcp://host:port`` and ``dns:///host:port`` are TCP.
    """
    endpoint = endpoint.strip()
    if not endpoint:
        raise EndpointError("empty endpoint")
    if endpoint.startswith(("unix:", "unix-abstract:")):
        return endpoint, True
    if endpoint.startswith("/"):
        return "unix://" + endpoint, True
    target = endpoint.removeprefix("tcp://")
    host, sep, port = target.rpartition(":")
    if not target.startswith("dns:") and (not sep or not host or not port.isdigit()):
        raise EndpointError(f"invalid endpoint {endpoint!r} (want unix:///PATH or HOST:PORT)")
    return target, False


def _read(option: str, path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(os.path.expanduser(path)).read_bytes()
    except OSError as exc:
        raise EndpointError(f"cannot read {option} {path}: {exc.strerror or exc}") from exc


def open_channel(options: ConnectionOptions) -> grpc.Channel:
    """A channel to cohortd. TCP uses TLS when a CA or a client certificate is given."""
    target, is_unix = normalize_target(options.endpoint)
    if bool(options.tls_cert) != bool(options.tls_key):
        raise EndpointError("--tls-cert and --tls-key go together (mutual TLS)")
    if is_unix or not (options.tls_ca or options.tls_cert):
        return grpc.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read("--tls-ca", options.tls_ca),
        private_key=_read("--tls-key", options.tls_key),
        certificate_chain=_read("--tls-cert", options.tls_cert),
    )
    channel_options = []
    if options.tls_server_name:
        channel_options.append(("grpc.ssl_target_name_override", options.tls_server_name))
    return grpc.secure_channel(target, credentials, options=channel_options)
