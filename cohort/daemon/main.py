"""`cohortd`: the storage-host daemon's entry point."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

import structlog

from cohort import __version__
from cohort.daemon import logs
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


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load(config_path(args.config, os.environ))
    except ConfigError as exc:
        print(f"cohortd: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        print(json.dumps(config.as_dict(), indent=2, sort_keys=True))
        return 0
    logs.configure(config.logging.level)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    notifier = Notifier()
    daemon = Daemon(config)
    try:
        daemon.start()
    except (ConfigError, StartupError) as exc:
        log.error("cannot start", error=str(exc))
        return 1
    notifier.ready()
    log.info("ready", version=__version__, backend=config.backend.kind)
    while not stop.wait(3600):
        pass
    notifier.stopping()
    log.info("shutting down", grace_seconds=config.server.grace_seconds)
    daemon.stop()
    log.info("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main())
