"""`cohortd`: the storage-host daemon's entry point."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

import structlog

from cohort import __version__
from cohort.daemon import logs
from cohort.daemon.backends import check_kind
from cohort.daemon.config import ConfigError, config_path, load
from cohort.daemon.runtime import Daemon
from cohort.daemon.sdnotify import Notifier
from cohort.daemon.server import StartupError

log = structlog.get_logger("cohortd")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cohortd", description=__doc__)
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config (default: $COHORT_CONFIG or /etc/cohort/cohortd.toml)",
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="print the effective config (file, defaults and environment) as JSON and exit",
    )
    parser.add_argument("--version", action="version", version=f"cohortd {__version__}")
    return parser.parse_args(argv)


class _Stop(threading.Event):
    signal: str = ""


def _install_signal_handlers() -> _Stop:
    """SIGTERM and SIGINT set the returned event. The handler does nothing else: it runs
    between two bytecodes of the main thread, which may hold a lock (the log's, for one).
    The signal may be delivered to any thread (gRPC has many); the wakeup fd makes the main
    thread's select() return at once, and the Python handler then runs in the main thread."""
    stop = _Stop()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.signal = signal.Signals(signum).name
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def _wait_for_signal(stop: threading.Event) -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    os.set_blocking(read_fd, False)
    previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    try:
        while not stop.is_set():
            select.select([read_fd], [], [], 5.0)
            with contextlib.suppress(BlockingIOError):
                os.read(read_fd, 512)
    finally:
        signal.set_wakeup_fd(previous)
        os.close(read_fd)
        os.close(write_fd)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load(config_path(args.config, os.environ))
        check_kind(config.backend)
    except ConfigError as exc:
        print(f"cohortd: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        print(json.dumps(config.as_dict(), indent=2, sort_keys=True))
        return 0
    logs.configure(config.logging.level)

    stop = _install_signal_handlers()

    notifier = Notifier()
    daemon = Daemon(config)
    try:
        daemon.start()
    except (ConfigError, StartupError) as exc:
        log.error("cannot start", error=str(exc))
        return 1
    notifier.ready()
    log.info("ready", version=__version__, backend=config.backend.kind)
    _wait_for_signal(stop)
    log.info("signal", signal=stop.signal)
    notifier.stopping()
    log.info("shutting down", grace_seconds=config.server.grace_seconds)
    daemon.stop()
    log.info("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main())
