"""Capability matching for extra specs and group specs, with Cinder's capabilities-filter
semantics.

A spec key is matched when it names a capability: either bare (``thin_provisioning_support``) or
scoped ``capabilities:`` (``capabilities:thin_provisioning_support``), and the name is a key of the
capabilities mapping. Keys in any other scope (``volume_backend:...``, ``qos:...``) and names that
are not capabilities are ignored.

The value is a requirement, one of:

- ``<is> True`` / ``<is> False``: boolean (``true``/``false``, ``1``/``0``, ``yes``/``no``,
  ``on``/``off``, any case);
- ``== N``, ``!= N``, ``>= N``, ``<= N``, and Cinder's ``= N`` (meaning ``>= N``): numeric;
- ``s== S``, ``s!= S``, ``s< S``, ``s<= S``, ``s> S``, ``s>= S``: string comparison;
- ``<in> S``: S is a substring of the capability;
- ``<or> A <or> B ...``: the capability equals any of the alternatives;
- anything else: a bare value, compared as a string, or as a boolean when the capability is a bool.

A requirement that cannot be evaluated (``>= abc``, a numeric operator on a non-numeric capability,
an unknown ``<op>``, an operator without operand) is a mismatch with its own reason.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping

CAPABILITIES_SCOPE = "capabilities"

_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.ge,  # Cinder: "= N" means "at least N"
}
_STRING: dict[str, Callable[[str, str], bool]] = {
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


class _Malformed(Exception):
    """The requirement cannot be evaluated against this capability."""


def _parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def is_true(value: str) -> bool:
    """Whether a spec value means true: ``<is> True``, ``True``, ``true`` (any case, also
    ``1``/``yes``/``on``). Used e.g. for ``consistent_group_snapshot_enabled``."""
    words = value.split()
    if words and words[0] == "<is>":
        words = words[1:]
    return len(words) == 1 and _parse_bool(words[0]) is True


def _as_text(cap: object) -> str:
    return str(cap)


def _as_number(cap: object) -> float:
    if isinstance(cap, bool):
        raise _Malformed("is a boolean, not a number")
    if isinstance(cap, int | float):
        return float(cap)
    if isinstance(cap, str):
        try:
            number = float(cap)
        except ValueError:
            raise _Malformed(f"{cap!r} is not a number") from None
        if math.isnan(number):
            raise _Malformed(f"{cap!r} is not a number")
        return number
    raise _Malformed(f"is a {type(cap).__name__}, not a number")


def _as_bool(cap: object) -> bool:
    if isinstance(cap, bool):
        return cap
    if isinstance(cap, str):
        parsed = _parse_bool(cap)
        if parsed is not None:
            return parsed
    raise _Malformed(f"{cap!r} is not a boolean")


def _single_operand(op: str, words: list[str]) -> str:
    if len(words) != 1:
        raise _Malformed(f"operator {op} takes exactly one operand, got {len(words)}")
    return words[0]


def _equal_bare(cap: object, wanted: str) -> bool:
    if isinstance(cap, bool):
        parsed = _parse_bool(wanted)
        return parsed is not None and parsed is cap
    return _as_text(cap) == wanted


def requirement_matches(requirement: str, cap: object) -> bool:
    """Whether capability value `cap` satisfies `requirement`; raises ValueError (with the
    reason) when the requirement is malformed for this capability."""
    try:
        return _matches(requirement, cap)
    except _Malformed as exc:
        raise ValueError(str(exc)) from None


def _matches(requirement: str, cap: object) -> bool:
    words = requirement.split()
    if not words:
        return _as_text(cap) == requirement
    op, rest = words[0], words[1:]
    if op == "<is>":
        wanted = _parse_bool(_single_operand(op, rest))
        if wanted is None:
            raise _Malformed(f"<is> needs True or False, got {rest[0]!r}")
        return _as_bool(cap) is wanted
    if op in _NUMERIC:
        operand = _single_operand(op, rest)
        try:
            number = float(operand)
        except ValueError:
            raise _Malformed(f"{operand!r} is not a number") from None
        if math.isnan(number):
            raise _Malformed(f"{operand!r} is not a number")
        try:
            have = _as_number(cap)
        except _Malformed as exc:
            raise _Malformed(f"operator {op} needs a numeric capability; this one {exc}") from None
        return _NUMERIC[op](have, number)
    if op in _STRING:
        if not rest:
            raise _Malformed(f"operator {op} needs an operand")
        return _STRING[op](_as_text(cap), " ".join(rest))
    if op == "<in>":
        if not rest:
            raise _Malformed("operator <in> needs an operand")
        return " ".join(rest) in _as_text(cap)
    if op == "<or>":
        alternatives = rest[0::2]
        separators = rest[1::2]
        if not alternatives or len(alternatives) != len(separators) + 1:
            raise _Malformed("<or> needs the form '<or> A <or> B ...'")
        if any(sep != "<or>" for sep in separators) or "<or>" in alternatives:
            raise _Malformed("<or> needs the form '<or> A <or> B ...'")
        return any(_equal_bare(cap, alt) for alt in alternatives)
    if op.startswith("<") and op.endswith(">") and len(op) > 2:
        raise _Malformed(f"unknown operator {op}")
    return _equal_bare(cap, requirement.strip())


def capability_name(key: str) -> str | None:
    """The capability a spec key refers to (bare or ``capabilities:`` scoped), or None when the
    key is in another scope."""
    scope, sep, rest = key.partition(":")
    if not sep:
        return key
    if scope == CAPABILITIES_SCOPE and rest:
        return rest
    return None


def mismatches(
    specs: Mapping[str, str],
    capabilities: Mapping[str, object],
    *,
    what: str = "extra spec",
) -> list[str]:
    """Human-readable reasons why `specs` do not match `capabilities`; empty when they do.
    `what` names the kind of spec in the reasons ("extra spec", "group spec")."""
    reasons: list[str] = []
    for key in sorted(specs):
        requirement = specs[key]
        cap_name = capability_name(key)
        if cap_name is None or cap_name not in capabilities:
            continue
        cap = capabilities[cap_name]
        try:
            ok = _matches(requirement, cap)
        except _Malformed as exc:
            reasons.append(
                f"{what} {key} '{requirement}' cannot be evaluated against capability "
                f"{cap_name}={cap}: {exc}"
            )
            continue
        if not ok:
            reasons.append(f"{what} {key} '{requirement}' does not match capability {cap}")
    return reasons
