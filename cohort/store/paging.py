"""Page tokens: opaque to clients, the last row's `seq` inside.

A token is the URL-safe base64 (unpadded) of ``v1:<seq>``, where seq is a row key this store
can hand out: 1 to SQLite's largest integer. Anything else (another version, another spelling,
a number out of that range) is refused with InvalidArgument, which the API reports as a bad
request, never as a failure of the store.
"""

from __future__ import annotations

import base64
import binascii

from cohort.errors import InvalidArgument

_PREFIX = "v1:"
_MAX_TOKEN = 64
#: The range of an autoincrement key: SQLite's INTEGER is a signed 64-bit number.
SEQ_MIN = 1
SEQ_MAX = (1 << 63) - 1


def encode_token(last_seq: int) -> str:
    raw = f"{_PREFIX}{last_seq}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> int:
    """The seq after which the next page starts; 0 for the empty token (the first page)."""
    if token == "":
        return 0
    try:
        if len(token) > _MAX_TOKEN:
            raise ValueError("too long")
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not text.startswith(_PREFIX):
            raise ValueError("unknown version")
        digits = text[len(_PREFIX) :]
        if not digits.isdigit() or not digits.isascii():
            raise ValueError("not a seq")
        seq = int(digits)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument("invalid page_token") from exc
    if not SEQ_MIN <= seq <= SEQ_MAX:
        raise InvalidArgument("invalid page_token")
    if encode_token(seq) != token:  # one spelling per token: "v1:007" or extra bits are not ours
        raise InvalidArgument("invalid page_token")
    return seq
