"""cohort's exception hierarchy. One place (the gRPC interceptor) maps it to status codes."""

from __future__ import annotations


class CohortError(Exception):
    """Base of every error cohort raises on purpose."""


class InvalidArgument(CohortError):
    """The request is malformed: bad name, size, id format, or conflicting fields."""


class NotFound(CohortError):
    """The object the request names does not exist (or is not visible to this API)."""


class AlreadyExists(CohortError):
    """An object of that name exists and was created with other arguments."""


class FailedPrecondition(CohortError):
    """The request is well formed but the objects are not in a state that allows it."""


class ResourceExhausted(CohortError):
    """The backend has no room for the request (capacity, over-subscription, threshold)."""


class BackendError(CohortError):
    """A backend operation failed. The message names the object; the object is left visible in
    an error status, as the seeds' manager contract says."""


class Busy(BackendError):
    """The backend refused because a resource is in use (e.g. an LV is open)."""
