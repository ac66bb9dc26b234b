"""Input validation shared by every RPC. Each check returns the value it accepted (normalised
where stated) or raises cohort.errors.InvalidArgument with a message naming the field.

Names are restricted to ASCII letters, digits and ``._-:@`` plus inner spaces, and never begin with
``-``: whatever reaches a command line (an LV tag, an iSCSI name) can never be read as an option.
A name never has the form of an id (a hyphenated UUID, in any case), so a reference that may be
an id or a name always means one object.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from cohort.errors import InvalidArgument

NAME_MAX = 255
DESCRIPTION_MAX = 1024
SPEC_KEY_MAX = 255
SPEC_VALUE_MAX = 255
SPEC_ENTRIES_MAX = 64
#: The largest size cohort accepts: 1 PiB.
SIZE_MAX = 1 << 50
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1000

_NAME_RE = re.compile(r"[A-Za-z0-9._:@][A-Za-z0-9._:@ -]*")
_SPEC_KEY_RE = re.compile(r"[A-Za-z0-9_.:][A-Za-z0-9_.:-]*")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID_RE = re.compile(_UUID)
_UUID_ANY_CASE_RE = re.compile(_UUID, re.IGNORECASE)


def _control_char(value: str) -> str | None:
    """The first control character in value (Unicode category Cc, or a lone surrogate)."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return ch
    return None


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    return value


def name(value: str, what: str = "name") -> str:
    """1..255 characters: letters, digits, ``._-:@`` and inner spaces; no leading ``-``; not
    of the form of an id."""
    value = _require_str(value, what)
    if not value:
        raise InvalidArgument(f"{what} must not be empty")
    if len(value) > NAME_MAX:
        raise InvalidArgument(f"{what} is {len(value)} characters long; at most {NAME_MAX}")
    if value.startswith("-"):
        raise InvalidArgument(f"{what} {value!r} must not begin with '-'")
    if value != value.strip(" "):
        raise InvalidArgument(f"{what} {value!r} must not begin or end with a space")
    if _NAME_RE.fullmatch(value) is None:
        bad = next((ch for ch in value if _NAME_RE.fullmatch("a" + ch) is None), "?")
        raise InvalidArgument(
            f"{what} {value!r} contains {bad!r}; allowed are letters, digits, spaces and ._-:@"
        )
    if has_id_form(value):
        raise InvalidArgument(
            f"{what} {value!r} has the form of an id (a UUID); a name must not, so that a "
            "lookup by id or name finds one object"
        )
    return value


def description(value: str, what: str = "description", limit: int = DESCRIPTION_MAX) -> str:
    """Free text: at most `limit` characters (1024 for a description), no control characters
    (not even newlines). May be empty."""
    value = _require_str(value, what)
    if len(value) > limit:
        raise InvalidArgument(f"{what} is {len(value)} characters long; at most {limit}")
    bad = _control_char(value)
    if bad is not None:
        raise InvalidArgument(f"{what} contains the control character {bad!r}")
    return value


def size_bytes(value: int, what: str = "size_bytes") -> int:
    """An integer number of bytes, > 0 and <= 1 PiB."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be an integer, not {type(value).__name__}")
    if value <= 0:
        raise InvalidArgument(f"{what} must be greater than 0, got {value}")
    if value > SIZE_MAX:
        raise InvalidArgument(f"{what} {value} is larger than the maximum {SIZE_MAX} (1 PiB)")
    return value


def has_id_form(value: str) -> bool:
    """Whether value is a hyphenated UUID in any case: an id, or what a client may take for one."""
    return _UUID_ANY_CASE_RE.fullmatch(value) is not None


def is_object_id(value: object) -> bool:
    """Whether value is a canonical (lowercase, hyphenated) UUID string."""
    return isinstance(value, str) and _UUID_RE.fullmatch(value) is not None


def object_id(value: str, what: str = "id") -> str:
    """A canonical lowercase UUID string, e.g. ``0b9f6c1e-3f4a-4c2d-9e2a-2f6d1c0a7b11``."""
    value = _require_str(value, what)
    if not value:
        raise InvalidArgument(f"{what} must not be empty")
    if not is_object_id(value):
        raise InvalidArgument(f"{what} {value[:80]!r} is not a canonical lowercase UUID")
    return value


def spec_map(d: Mapping[str, str], what: str = "specs") -> dict[str, str]:
    """Extra specs / group specs: at most 64 entries; keys 1..255 characters of
    ``[A-Za-z0-9_.:-]`` not beginning with ``-``; values at most 255 characters, no control
    characters. Returns a plain dict copy."""
    if not isinstance(d, Mapping):
        raise InvalidArgument(f"{what} must be a mapping, not {type(d).__name__}")
    if len(d) > SPEC_ENTRIES_MAX:
        raise InvalidArgument(f"{what} has {len(d)} entries; at most {SPEC_ENTRIES_MAX}")
    out: dict[str, str] = {}
    for key, value in d.items():
        key = _require_str(key, f"{what} key")
        if not key:
            raise InvalidArgument(f"{what} key must not be empty")
        if len(key) > SPEC_KEY_MAX:
            raise InvalidArgument(
                f"{what} key {key[:40]!r}... is {len(key)} characters long; at most {SPEC_KEY_MAX}"
            )
        if key.startswith("-"):
            raise InvalidArgument(f"{what} key {key!r} must not begin with '-'")
        if _SPEC_KEY_RE.fullmatch(key) is None:
            raise InvalidArgument(f"{what} key {key!r} may contain only letters, digits and _.:-")
        value = _require_str(value, f"{what} value of {key}")
        if len(value) > SPEC_VALUE_MAX:
            raise InvalidArgument(
                f"{what} value of {key} is {len(value)} characters long; at most {SPEC_VALUE_MAX}"
            )
        bad = _control_char(value)
        if bad is not None:
            raise InvalidArgument(f"{what} value of {key} contains the control character {bad!r}")
        out[key] = value
    return out


def page_size(n: int) -> int:
    """0 means the default (100); otherwise 1..1000."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidArgument(f"page_size must be an integer, not {type(n).__name__}")
    if n == 0:
        return PAGE_SIZE_DEFAULT
    if n < 0 or n > PAGE_SIZE_MAX:
        raise InvalidArgument(
            f"page_size must be between 1 and {PAGE_SIZE_MAX} (0: default), got {n}"
        )
    return n


def ref(value: str, what: str = "reference") -> str:
    """An id or a name: non-empty, and valid as one or the other."""
    value = _require_str(value, what)
    if not value:
        raise InvalidArgument(f"{what} must not be empty (an id or a name)")
    if is_object_id(value):
        return value
    if has_id_form(value):
        raise InvalidArgument(f"{what} {value!r} is not a canonical UUID: ids are lowercase")
    return name(value, what)


#: iSCSI names (RFC 3720 section 3.2.6): "iqn." date, reversed domain, optional ":" and a
#: unique part; "eui." and "naa." with hex digits. Lowercase: the standard's normal form, and
#: what LIO compares an initiator's name with.
_IQN_RE = re.compile(
    r"iqn\.\d{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?"
)
_EUI_RE = re.compile(r"eui\.[0-9a-f]{16}")
_NAA_RE = re.compile(r"naa\.[0-9a-f]{16}([0-9a-f]{16})?")
ISCSI_NAME_MAX = 223


def iscsi_name(value: str, what: str = "initiator") -> str:
    """An iSCSI name in normal form (iqn., eui. or naa.), at most 223 bytes."""
    text = _require_str(value, what)
    if not text:
        raise InvalidArgument(f"{what} must not be empty (an iSCSI name: iqn.…, eui.… or naa.…)")
    if len(text.encode()) > ISCSI_NAME_MAX:
        raise InvalidArgument(f"{what} is longer than {ISCSI_NAME_MAX} bytes")
    if text != text.lower() and text.lower().startswith(("iqn.", "eui.", "naa.")):
        raise InvalidArgument(f"{what} {text!r} must be lowercase (the iSCSI normal form)")
    if not any(r.fullmatch(text) for r in (_IQN_RE, _EUI_RE, _NAA_RE)):
        raise InvalidArgument(
            f"{what} {text!r} is not an iSCSI name (iqn.yyyy-mm.reversed.domain[:unique], "
            "eui.<16 hex> or naa.<16 or 32 hex>)"
        )
    return text
