"""A throw-away CA with a server certificate (127.0.0.1, localhost) and a client certificate,
made with the openssl command line (argv lists, no shell)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def read(self, name: str) -> bytes:
        path: Path = getattr(self, name)
        return path.read_bytes()


def _openssl(*args: str | Path) -> None:
    argv = ["openssl", *map(str, args)]
    subprocess.run(argv, check=True, capture_output=True)


def _issue(directory: Path, name: str, subject: str, extensions: str) -> tuple[Path, Path]:
    key, csr, cert = (directory / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    _openssl("req", *KEY, "-keyout", key, "-out", csr, "-subj", subject)
    _openssl(
        "x509", "-req", "-in", csr, "-CA", directory / "ca.pem", "-CAkey", directory / "ca.key",
        "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", ext,
    )  # fmt: skip
    return cert, key


def make_certs(directory: Path) -> Certs:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", *KEY, "-keyout", directory / "ca.key", "-out", directory / "ca.pem",
        "-days", "1", "-subj", "/CN=cohort test CA",
    )  # fmt: skip
    server_cert, server_key = _issue(
        directory,
        "server",
        "/CN=localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    client_cert, client_key = _issue(
        directory, "client", "/CN=cohort-client", "extendedKeyUsage=clientAuth\n"
    )
    return Certs(directory / "ca.pem", server_cert, server_key, client_cert, client_key)
