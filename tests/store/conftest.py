from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cohort.store import SqlStore


@pytest.fixture(params=["memory", "memory-migrated", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """The contract suite runs on each way a store is made."""
    if request.param == "memory":
        s = SqlStore.memory()
    elif request.param == "memory-migrated":
        s = SqlStore.memory(migrate=True)
    else:
        s = SqlStore.open(tmp_path / "state")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore.open(tmp_path / "state")
    try:
        yield s
    finally:
        s.close()
