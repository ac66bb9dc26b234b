"""cohortctl: argparse wiring, connection options and error handling."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import grpc

from cohort.cli import (
    capabilities,
    consistency_groups,
    exitcodes,
    exports,
    groups,
    snapshots,
    volume_types,
    volumes,
)
from cohort.cli.command import Command, UsageError, add_command
from cohort.cli.connection import DEFAULT_ENDPOINT, ConnectionOptions, EndpointError, open_channel
from cohort.cli.runner import Runner

COMMANDS: tuple[Command, ...] = (
    *volume_types.COMMANDS,
    *volumes.COMMANDS,
    *snapshots.COMMANDS,
    *groups.COMMANDS,
    *consistency_groups.COMMANDS,
    *exports.COMMANDS,
    *capabilities.COMMANDS,
)

ENVIRONMENT = """\
environment:
  COHORT_ENDPOINT   default for --endpoint
  COHORT_TLS_CA     default for --tls-ca
  COHORT_TLS_CERT   default for --tls-cert
  COHORT_TLS_KEY    default for --tls-key
"""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _global_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Connection and output options, accepted before and after the subcommand."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    env = os.environ.get
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--endpoint",
        default=default(env("COHORT_ENDPOINT") or DEFAULT_ENDPOINT),
        help=f"unix:///PATH or HOST:PORT (TCP) (default: {DEFAULT_ENDPOINT})",
    )
    group.add_argument("--tls-ca", default=default(env("COHORT_TLS_CA")), help="CA bundle (PEM)")
    group.add_argument(
        "--tls-cert", default=default(env("COHORT_TLS_CERT")), help="client cert (mutual TLS)"
    )
    group.add_argument(
        "--tls-key", default=default(env("COHORT_TLS_KEY")), help="client key (mutual TLS)"
    )
    group.add_argument(
        "--tls-server-name", default=default(None), help="expected server name in its certificate"
    )
    group.add_argument(
        "--timeout",
        type=_positive,
        default=default(None),
        help="seconds per call (default: 30; none for watch-capabilities)",
    )
    group.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON for scripts"
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cohortctl",
        description=(
            "Command-line client of cohortd (volumes, groups, consistency groups, iSCSI exports)."
        ),
        epilog=exitcodes.EPILOG + ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options(suppress=False)],
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    late_options = _global_options(suppress=True)
    for command in COMMANDS:
        add_command(subparsers, command, [late_options])
    return parser


def _error(message: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr, flush=True)


def _execute(ns: argparse.Namespace) -> int:
    options = ConnectionOptions(
        endpoint=ns.endpoint,
        tls_ca=ns.tls_ca,
        tls_cert=ns.tls_cert,
        tls_key=ns.tls_key,
        tls_server_name=ns.tls_server_name,
    )
    try:
        channel = open_channel(options)
    except EndpointError as exc:
        _error(str(exc))
        return exitcodes.USAGE
    runner = Runner(channel, timeout=ns.timeout, as_json=ns.json, out=sys.stdout)
    try:
        return runner.run(ns.command, ns)
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else None
        name = code.name if code is not None else "UNKNOWN"
        details = exc.details() if hasattr(exc, "details") else str(exc)
        if code == grpc.StatusCode.UNAVAILABLE:
            details = f"{details} (endpoint {ns.endpoint})"
        _error(f"{name}: {details}")
        return exitcodes.for_status(code)
    finally:
        channel.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error, already printed by argparse
        return exc.code if isinstance(exc.code, int) else exitcodes.USAGE
    if getattr(ns, "command", None) is None:
        parser.print_help(sys.stderr)
        return exitcodes.USAGE
    try:
        return _execute(ns)
    except UsageError as exc:
        print(f"cohortctl {ns.command.name}: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED
    except BrokenPipeError:  # e.g. `cohortctl list | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exitcodes.FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
