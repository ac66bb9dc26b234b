"""The manager: Cinder's volume-manager semantics over a Store and a Backend.

It validates requests, enforces the preconditions, moves objects through their statuses, calls
the backend outside its lock, and turns the backend's answers into statuses as the seeds say
(cohort.manager.outcomes). Servicers call it; it imports neither gRPC nor SQLAlchemy.
"""

from __future__ import annotations

from cohort.manager.restore import RestoreMixin
from cohort.manager.types import TypesMixin


class Manager(RestoreMixin, TypesMixin):
    """See docs/MANAGER-API.md for the calls."""


__all__ = ["Manager"]
