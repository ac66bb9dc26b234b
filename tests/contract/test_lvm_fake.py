"""The backend contract on the LVM backend with the fake runner (tests/lvm/fakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.lvm.backend import LvmBackend
from tests.lvm.fakes import FakeSystem

from .lvm import LvmHarness
from .suite import BackendContract


class TestLvmFake(BackendContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> LvmHarness:
        backend = LvmBackend(FakeSystem(), "vg0", "pool", lvm_dir=tmp_path / "lvm")
        backend.start()
        return LvmHarness(backend, data=False)
