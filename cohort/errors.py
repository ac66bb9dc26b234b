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


class ObjectBusy(CohortError):
    """Another call holds the object in a conflicting way ("busy, retry later"). Nothing was
    changed by the refused call; see cohort.manager.reservations for the model."""

    def __init__(self, kind: str, object_id: str, operation: str) -> None:
        super().__init__(f"busy: {kind} {object_id} is held by {operation}; retry later")
        self.kind = kind
        self.object_id = object_id
        self.operation = operation


class StoreBusy(CohortError):
    """The store's single writer lock was not granted in time: busy, retry later (nothing was
    changed)."""
