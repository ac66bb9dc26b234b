"""The deadline guard's wire format: one JSON object per line on a unix stream socket, one
connection per freeze.

  -> {"op": "arm", "freeze": ID, "gates": ["COHORT-GATE-<volume id>", ...], "deadline": SECONDS}
  <- {"ok": true} | {"ok": false, "error": "..."}
  -> {"op": "disarm", "freeze": ID}
  <- {"disarmed": true} | {"disarmed": false, "reason": "deadline"|"disconnect"|"guard-stopping",
                          "fired_after": SECONDS}

A connection closed while its freeze is armed fires it at once. Any line that is not a valid
request is answered {"ok": false, "error": "..."}; the connection stays usable.
"""

from __future__ import annotations

import json
import socket
from typing import Any

DEFAULT_SOCKET = "/run/cohort-guard/guard.sock"
#: The longest line either side accepts (a freeze of hundreds of gates fits many times over).
MAX_LINE = 1 << 20


class LineTooLong(ValueError):
    pass


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """The object on one line; ValueError when it is not a JSON object."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


class LineReader:
    """Reads newline-terminated lines from a socket, honouring its timeout."""

    def __init__(self, sock: socket.socket, limit: int = MAX_LINE) -> None:
        self._sock = sock
        self._limit = limit
        self._buf = bytearray()

    def readline(self) -> bytes | None:
        """The next line without its newline; None at end of stream (a partial last line is
        dropped: the peer went away mid-message)."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return line
            if len(self._buf) > self._limit:
                raise LineTooLong(f"line longer than {self._limit} bytes")
            chunk = self._sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
