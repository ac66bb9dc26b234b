from __future__ import annotations

import pytest

from cohort.sim import SimBackend
from tests.recorder import Recorder


@pytest.fixture
def sim() -> SimBackend:
    return SimBackend(1 << 30)


@pytest.fixture
def journal() -> Recorder:
    return Recorder()
