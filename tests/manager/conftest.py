from __future__ import annotations

from collections.abc import Iterator

import pytest

from cohort.domain.capabilities import CapabilityPolicy
from cohort.manager import Manager
from cohort.sim import SimBackend
from cohort.store import SqlStore

GIB = 1024**3


@pytest.fixture
def store() -> Iterator[SqlStore]:
    s = SqlStore.memory()
    yield s
    s.close()


@pytest.fixture
def sim() -> SimBackend:
    return SimBackend(capacity_bytes=100 * GIB)


@pytest.fixture
def manager(store: SqlStore, sim: SimBackend) -> Manager:
    return Manager(store, sim, CapabilityPolicy(), host="test-host")
