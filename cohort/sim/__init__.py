"""The simulated backend: an in-process thin pool with a fault plan, for tests."""

from cohort.sim.backend import SimBackend
from cohort.sim.faults import FaultPlan, MethodFaults, SimulatedCrash
from cohort.sim.pool import CHUNK_BYTES, EXTENT_BYTES, device_path

__all__ = [
    "CHUNK_BYTES",
    "EXTENT_BYTES",
    "FaultPlan",
    "MethodFaults",
    "SimBackend",
    "SimulatedCrash",
    "device_path",
]
