"""gRPC errors and connection failures: one line on stderr, an exit code per status class."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from cohort.cli.main import main
from cohort.v1 import volumes_pb2, volumes_pb2_grpc

from .fakes import Backend, Cli, Server, fake_servicer

CODES = [
    (grpc.StatusCode.INVALID_ARGUMENT, 3),
    (grpc.StatusCode.OUT_OF_RANGE, 3),
    (grpc.StatusCode.NOT_FOUND, 4),
    (grpc.StatusCode.ALREADY_EXISTS, 5),
    (grpc.StatusCode.ABORTED, 5),
    (grpc.StatusCode.FAILED_PRECONDITION, 6),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 7),
    (grpc.StatusCode.PERMISSION_DENIED, 8),
    (grpc.StatusCode.UNAUTHENTICATED, 8),
    (grpc.StatusCode.UNAVAILABLE, 9),
    (grpc.StatusCode.UNIMPLEMENTED, 10),
    (grpc.StatusCode.INTERNAL, 1),
    (grpc.StatusCode.UNKNOWN, 1),
    (grpc.StatusCode.DATA_LOSS, 1),
]


@pytest.mark.parametrize(("code", "exit_code"), CODES, ids=[c.name for c, _ in CODES])
def test_status_codes_map_to_exit_codes(
    cli: Cli, server: Server, code: grpc.StatusCode, exit_code: int
) -> None:
    server.backend.replies["DeleteConsistencyGroup"] = code
    result = cli("consisgroup-delete", "--force", "mycg1")
    assert result.code == exit_code
    assert result.out == ""
    assert result.err.startswith(f"ERROR: {code.name}: DeleteConsistencyGroup says no")


def test_errors_while_paging_stop_the_list(cli: Cli, server: Server) -> None:
    server.backend.replies["ListGroups"] = grpc.StatusCode.INVALID_ARGUMENT
    result = cli("group-list")
    assert result.code == 3
    assert result.out == ""


def test_missing_socket_is_unavailable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = f"unix://{tmp_path / 'absent.sock'}"
    assert main(["--endpoint", endpoint, "--timeout", "5", "list"]) == 9
    err = capsys.readouterr().err
    assert err.startswith("ERROR: UNAVAILABLE: ")
    assert endpoint in err
    assert "Traceback" not in err


def test_endpoint_from_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COHORT_ENDPOINT", server.endpoint)
    assert main(["type-show", "gold"]) == 0
    assert server.backend.last("GetVolumeType").volume_type == "gold"


@pytest.mark.parametrize(
    "argv",
    [
        ["--endpoint", "nonsense", "list"],
        ["--endpoint", "127.0.0.1:1", "--tls-ca", "/nonexistent/ca.pem", "list"],
        ["--endpoint", "127.0.0.1:1", "--tls-cert", "c.pem", "list"],
    ],
)
def test_local_connection_problems_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "Traceback" not in err


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A CA, a server certificate for localhost and a client certificate, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp_path,
    )  # fmt: skip
    for name in ("server", "client"):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=tmp_path,
        )  # fmt: skip
        (tmp_path / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
            cwd=tmp_path,
        )  # fmt: skip
    return tmp_path


@pytest.fixture
def tls_server(pki: Path) -> Iterator[tuple[str, Backend]]:
    """A Volumes fake on TCP that requires client certificates (cohortd's mutual TLS)."""
    backend = Backend()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    volumes_pb2_grpc.add_VolumesServicer_to_server(
        fake_servicer(volumes_pb2, volumes_pb2_grpc, "Volumes", backend), server
    )
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"127.0.0.1:{port}", backend
    finally:
        server.stop(None)


def test_mutual_tls_over_tcp(
    pki: Path,
    tls_server: tuple[str, Backend],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, backend = tls_server
    monkeypatch.setenv("COHORT_TLS_CA", str(pki / "ca.pem"))
    argv = ["--endpoint", endpoint, "--timeout", "10", "show", "vol-1"]
    certs = ["--tls-cert", str(pki / "client.pem"), "--tls-key", str(pki / "client.key")]
    assert main([*argv, *certs]) == 0
    assert backend.last("GetVolume").volume_id == "vol-1"
    capsys.readouterr()
    # Without a client certificate the server refuses the handshake.
    assert main(argv) == 9
    assert capsys.readouterr().err.startswith("ERROR: UNAVAILABLE: ")
