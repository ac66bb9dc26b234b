"""Size parsing and command lines that never reach the server."""

from __future__ import annotations

import argparse

import pytest

from cohort.cli.output import human_size
from cohort.cli.parsing import parse_size

from .fakes import Cli, Server

GiB = 1 << 30


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4096", 4096),
        ("1073741824", GiB),
        ("512M", 512 << 20),
        ("512m", 512 << 20),
        ("10G", 10 * GiB),
        ("10GB", 10 * GiB),
        ("10GiB", 10 * GiB),
        ("10 GiB", 10 * GiB),
        ("1.5G", GiB * 3 // 2),
        ("2T", 2 << 40),
        ("64K", 64 << 10),
        ("1P", 1 << 50),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "10X", "-1G", "0", "0G", "1.3K", "ten", "1e9", "1.5"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [(100, "100 bytes"), (1536, "1.5 KiB"), (10 * GiB, "10 GiB"), (GiB * 3 // 2, "1.5 GiB")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "10X"],
        ["create"],
        ["create", "--group-id", "g", "--consisgroup-id", "cg", "1G"],
        ["create", "--snapshot-id", "s", "--source-volid", "v", "1G"],
        ["group-create-from-src", "--name", "n"],
        ["group-create-from-src", "--group-snapshot", "gs", "--source-group", "g"],
        ["consisgroup-create-from-src", "--name", "n", "--description", "d"],
        ["consisgroup-create", "mycg1"],
        ["consisgroup-create", "--name", "a", "--volume-type", "t", "b"],
        ["group-create", "--volume-types", "t", "g"],
        ["list", "--status", "sleeping"],
        ["type-create", "t", "--spec", "novalue"],
        ["--timeout", "0", "list"],
        ["no-such-command"],
        [],
    ],
)
def test_usage_errors_exit_2_without_calling(cli: Cli, server: Server, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert result.err
    assert server.backend.calls == []


def test_help_documents_exit_codes(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.out
    assert "FAILED_PRECONDITION" in result.out
    assert "consisgroup-create" in result.out


def test_tiny_bare_sizes_warn_that_they_are_bytes(cli: Cli, server: Server) -> None:
    result = cli("create", "10")
    assert result.code == 0
    assert "10 bytes" in result.err
    assert server.backend.last("CreateVolume").size_bytes == 10
    assert cli("extend", "v", "10G").err == ""
