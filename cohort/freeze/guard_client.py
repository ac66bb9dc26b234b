"""cohortd's side of the deadline guard: `GuardClient` implements cohort.freeze.ports.Guard over
`cohort-guard`'s unix socket (wire format in `cohort.freeze.wire`).

Every socket operation has a timeout, so a wedged guard never hangs cohortd: an arm that gets no
answer fails before anything is suspended; a disarm that gets no valid answer counts as "not
disarmed" (the guard may have fired: the image must end in error), and closing the connection
then makes the guard fire if it had not.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import structlog

from cohort.errors import BackendError
from cohort.freeze import wire
from cohort.lvm import names

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 5.0


class GuardUnavailable(BackendError):
    """The guard could not be reached or did not answer: no freeze may start."""


class GuardConnection:
    """One armed freeze (cohort.freeze.ports.Armed). After `disarm`, `reason` and `fired_after`
    say how the guard fired when it did (reason "lost" when its answer never came)."""

    def __init__(self, sock: socket.socket, reader: wire.LineReader, freeze_id: str) -> None:
        self._sock: socket.socket | None = sock
        self._reader = reader
        self.freeze_id = freeze_id
        self.reason: str | None = None
        self.fired_after: float | None = None
        self._disarmed: bool | None = None

    def disarm(self) -> bool:
        """The guard's verdict; asked once, the same answer after."""
        if self._disarmed is None:
            self._disarmed = self._disarm()
        return self._disarmed

    def _disarm(self) -> bool:
        sock = self._sock
        if sock is None:
            self.reason = "lost"
            return False
        try:
            reply = _exchange(sock, self._reader, {"op": "disarm", "freeze": self.freeze_id})
        except (OSError, ValueError) as exc:
            log.warning("freeze guard lost at disarm", freeze=self.freeze_id, error=str(exc))
            self.reason = "lost"
            self.close()
            return False
        if reply.get("disarmed") is True:
            return True
        self.reason = str(reply.get("reason") or reply.get("error") or "unknown")
        after = reply.get("fired_after")
        self.fired_after = float(after) if isinstance(after, int | float) else None
        log.warning(
            "freeze guard fired before disarm",
            freeze=self.freeze_id,
            reason=self.reason,
            fired_after=self.fired_after,
        )
        return False

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> GuardConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GuardClient:
    """cohort.freeze.ports.Guard: one connection to `cohort-guard` per freeze."""

    def __init__(self, socket_path: str = wire.DEFAULT_SOCKET, timeout: float = DEFAULT_TIMEOUT):
        self._path = socket_path
        self._timeout = timeout

    def arm(
        self, freeze_id: str, volume_ids: Sequence[str], deadline_seconds: float
    ) -> GuardConnection:
        gates = [names.gate_uuid(v) for v in volume_ids]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.settimeout(self._timeout)
        reader = wire.LineReader(sock)
        request = {"op": "arm", "freeze": freeze_id, "gates": gates, "deadline": deadline_seconds}
        try:
            sock.connect(self._path)
            reply = _exchange(sock, reader, request)
        except (OSError, ValueError) as exc:
            sock.close()
            raise GuardUnavailable(f"freeze guard unreachable at {self._path}: {exc}") from exc
        if reply.get("ok") is not True:
            sock.close()
            raise BackendError(
                f"freeze guard at {self._path} refused freeze {freeze_id}: {reply.get('error')}"
            )
        return GuardConnection(sock, reader, freeze_id)


def _exchange(
    sock: socket.socket, reader: wire.LineReader, request: dict[str, Any]
) -> dict[str, Any]:
    """Send one request line and read one reply; OSError (timeouts included) or ValueError."""
    sock.sendall(wire.encode(request))
    line = reader.readline()
    if line is None:
        raise ConnectionResetError("connection closed by the guard")
    return wire.decode(line)
