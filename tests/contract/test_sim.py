"""The backend contract on the simulated backend, with and without consistent group snapshots."""

from __future__ import annotations

import pytest

from cohort.domain.model import Volume
from cohort.sim import SimBackend

from .harness import MiB, volume
from .suite import BackendContract

CAPACITY = 64 * MiB


class SimHarness:
    data = True

    def __init__(self, consistent_group_snapshot: bool) -> None:
        self.sim = SimBackend(CAPACITY, consistent_group_snapshot=consistent_group_snapshot)
        self.backend = self.sim

    def size(self, volume: Volume) -> int:
        return self.sim.volume_size(volume.id)

    def fill(self) -> None:
        """Write a pool-sized volume until no chunk is left."""
        filler = volume(CAPACITY)
        self.sim.create_volume(filler)
        self.sim.write(filler.id, 0, bytes(CAPACITY - self.sim.allocated_bytes()))

    def write(self, volume: Volume, offset: int, data: bytes) -> None:
        self.sim.write(volume.id, offset, data)

    def read(self, volume: Volume, offset: int, length: int) -> bytes:
        return self.sim.read(volume.id, offset, length)


class TestSim(BackendContract):
    @pytest.fixture(params=[True, False], ids=["cg", "no-cg"])
    def harness(self, request: pytest.FixtureRequest) -> SimHarness:
        return SimHarness(consistent_group_snapshot=request.param)
