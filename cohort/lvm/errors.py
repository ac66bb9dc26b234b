"""Failure classification at the LVM / device-mapper adapter edge.

A `CommandError` from the choke point becomes one of cohort's exceptions, chosen from LVM's and
dmsetup's messages (run with `LC_ALL=C`, so they are stable):

- not found      -> `ObjectNotFound` (a BackendError: the backend lost something the store has;
                    never cohort.errors.NotFound, which means "the request names nothing")
- already exists -> `ObjectExists` (BackendError)
- no space       -> `NoSpace` (cohort.errors.ResourceExhausted)
- busy / open    -> cohort.errors.Busy
- anything else  -> BackendError
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from cohort.errors import BackendError, Busy, CohortError, ResourceExhausted
from cohort.lvm.run import CommandError, CommandTimeout


class ObjectNotFound(BackendError):
    """An LV, VG or device the backend expected does not exist."""


class ObjectExists(BackendError):
    """An LV or device of that name exists already."""


class NoSpace(ResourceExhausted):
    """The pool (or VG) has no room for the request."""


class CommandTimedOut(BackendError):
    """An external command did not finish in time."""


_NO_SPACE = re.compile(
    r"insufficient free|no space left|not enough free|free space in thin pool"
    r"|exceeds the size of thin pool|over.?provision|reached threshold|insufficient suitable"
    r"|pool .* is full|out of data space|out of metadata space",
    re.IGNORECASE,
)
_EXISTS = re.compile(r"already exists|file exists", re.IGNORECASE)
_BUSY = re.compile(
    r"in use|device or resource busy|is open|\bopen\b.*logical volume|busy"
    r"|used by another device",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(
    r"not found|failed to find|does not exist|no such device|no such file"
    r"|doesn't exist|can't find",
    re.IGNORECASE,
)


def classify(err: CommandError, what: str = "") -> CohortError:
    """The cohort exception for a failed command; `what` names the object for the message."""
    text = err.stderr
    prefix = f"{what}: " if what else ""
    msg = f"{prefix}{' '.join(err.argv[:2])} failed (rc {err.rc}): {err.stderr.strip()[-300:]}"
    if isinstance(err, CommandTimeout):
        return CommandTimedOut(msg)
    # Order matters: "no space" and "exists" messages can mention "not found" columns, and a
    # busy device message often says "in use" together with the device name.
    if _NO_SPACE.search(text):
        return NoSpace(msg)
    if _EXISTS.search(text):
        return ObjectExists(msg)
    if _BUSY.search(text):
        return Busy(msg)
    if _NOT_FOUND.search(text):
        return ObjectNotFound(msg)
    return BackendError(msg)


@contextmanager
def edge(what: str = "") -> Iterator[None]:
    """Translate CommandError raised inside the block into cohort's hierarchy."""
    try:
        yield
    except CommandError as err:
        raise classify(err, what) from err
