"""systemd's notify protocol (sd_notify(3)) without a dependency: READY=1, STOPPING=1 and
watchdog pings, sent as datagrams to $NOTIFY_SOCKET. Every call is a no-op outside systemd."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping

import structlog

log = structlog.get_logger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = env.get("NOTIFY_SOCKET", "")
        self._watchdog_usec = _watchdog_usec(env)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between pings: half of WATCHDOG_USEC, or None when no watchdog is set."""
        return self._watchdog_usec / 2e6 if self._watchdog_usec else None

    def notify(self, state: str) -> bool:
        """Send one state string ("READY=1", ...). False when not under systemd or on failure."""
        if not self._address:
            return False
        address = self._address
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(state.encode(), address)
        except OSError as exc:
            log.warning("sd_notify failed", state=state, error=str(exc))
            return False
        return True

    def ready(self) -> None:
        self.notify("READY=1")
        interval = self.watchdog_interval
        if interval and self._thread is None:
            self._thread = threading.Thread(
                target=self._ping, args=(interval,), name="sd-watchdog", daemon=True
            )
            self._thread.start()

    def stopping(self) -> None:
        self._stop.set()
        self.notify("STOPPING=1")
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _ping(self, interval: float) -> None:
        while not self._stop.is_set():
            self.notify("WATCHDOG=1")
            self._stop.wait(interval)


def _watchdog_usec(env: Mapping[str, str]) -> int:
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return 0
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return 0  # the watchdog is meant for another process
    return max(usec, 0)
