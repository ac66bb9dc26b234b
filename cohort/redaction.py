"""Keeping secrets out of what cohort writes down: structured logs and the command recorder.

A value is withheld (replaced by `REDACTED`) when its key names a secret (a password, passwd,
passphrase or secret, in any case and any position of the key: ``auth_password``,
``chap_secret``, ``Password``), when it is a `Credentials`, and inside text, where a secret
follows its name: ``"auth_password": "..."`` (JSON, such as an export's connection info),
``auth_password: "..."`` (protobuf text), ``'password': '...'`` (a Python repr) and
``password=...`` (a command's argument). Protobuf messages are turned into dicts first, so an
export's `Connection` loses its ``auth_password`` wherever it is nested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from cohort.domain.exports import Credentials

REDACTED = "<redacted>"

K = TypeVar("K")

_WORDS = r"pass(?:word|wd|phrase)|secret"
_NAMES_SECRET = re.compile(_WORDS, re.IGNORECASE)
_NAME = rf"[\w.-]*(?:{_WORDS})[\w.-]*"
#: A quoted value after its (maybe quoted, maybe escaped-quoted) name and ``:`` or ``=``.
_QUOTED = re.compile(
    rf"""(?P<key>(?:\\?["'])?{_NAME}(?:\\?["'])?\s*[:=]\s*)(?P<q>\\?["']).*?(?P=q)""",
    re.IGNORECASE,
)
#: A bare value after ``name=``, up to a space, a quote or a separator.
_BARE = re.compile(rf"""(?P<key>{_NAME}\s*=\s*)(?![\\"'])[^\s"',;&)\]}}]+""", re.IGNORECASE)


def names_secret(key: object) -> bool:
    """Whether a key (a log field, a dict key, a command flag) names a secret."""
    return isinstance(key, str) and _NAMES_SECRET.search(key) is not None


def scrub(text: str) -> str:
    """`text` with every secret written after its name withheld."""
    if not names_secret(text):
        return text
    text = _QUOTED.sub(lambda m: f"{m['key']}{m['q']}{REDACTED}{m['q']}", text)
    return _BARE.sub(lambda m: f"{m['key']}{REDACTED}", text)


def redact(value: object) -> object:
    """`value` with its secrets withheld, for a log line: mappings, sequences and protobuf
    messages are walked (a list of strings is read as a command line: `redact_argv`); other
    objects become their scrubbed repr (what the JSON renderer would have written)."""
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Credentials):
        return REDACTED
    if isinstance(value, Message):
        return redact(MessageToDict(value, preserving_proto_field_name=True))
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(redact_argv(value))  # maybe a command line: a flag's value is withheld too
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return scrub(repr(value))


def redact_mapping(values: Mapping[K, object]) -> dict[K, object]:
    return {key: REDACTED if names_secret(key) else redact(value) for key, value in values.items()}


def redact_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """A command line as it may be recorded: ``--password VALUE`` and ``password=VALUE`` (or
    any other name of a secret) keep their name and lose the value."""
    out: list[str] = []
    follows_flag = False
    for arg in argv:
        out.append(REDACTED if follows_flag else scrub(arg))
        follows_flag = arg.startswith("-") and "=" not in arg and names_secret(arg)
    return tuple(out)
