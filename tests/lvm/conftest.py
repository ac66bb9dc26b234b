"""The LVM backend on the fake runner, started."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.lvm.backend import LvmBackend

from .fakes import FakeSystem


@pytest.fixture
def fake() -> FakeSystem:
    return FakeSystem()


@pytest.fixture
def backend(fake: FakeSystem, tmp_path: Path) -> LvmBackend:
    b = LvmBackend(fake, "vg0", "pool", lvm_dir=tmp_path / "lvm")
    b.start()
    fake.calls.clear()
    return b
