"""The API as a client sees it: an in-process cohortd (tests/inprocess.py) on a unix socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inprocess import GIB, Daemon

Api = Daemon
__all__ = ["GIB", "Api"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    daemon = Daemon(tmp_path / "cohortd.sock")
    try:
        yield daemon
    finally:
        daemon.stop()
