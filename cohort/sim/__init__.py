"""The simulated backend: an in-process thin pool with a fault plan, for tests."""

from cohort.sim.backend import CHUNK_BYTES, EXTENT_BYTES, SimBackend, device_path
from cohort.sim.faults import FaultPlan, MethodFaults, SimulatedCrash

__all__ = [
    "CHUNK_BYTES",
    "EXTENT_BYTES",
    "FaultPlan",
    "MethodFaults",
    "SimBackend",
    "SimulatedCrash",
    "device_path",
]
