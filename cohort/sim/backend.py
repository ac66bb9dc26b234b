"""The simulated backend: `SimBackend`, the simulated thin pool (`cohort.sim.pool`) with its
group operations (`cohort.sim.groups`), configured from the `[backend.sim]` table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cohort.domain.backend import Backend
from cohort.domain.model import Snapshot
from cohort.errors import BackendError
from cohort.sim.faults import FaultPlan
from cohort.sim.groups import SimGroups
from cohort.sim.pool import DEFAULT_CAPACITY_BYTES, DEVICE_DIR

_CONFIG_KEYS = (
    "capacity_bytes",
    "consistent_group_snapshot",
    "faults",
    "state_file",
    "pool_name",
    "volume_backend_name",
    "max_provisioned_bytes",
)


class SimBackend(SimGroups):
    """The simulated thin pool. Implements cohort.domain.backend.Backend."""

    # -- exports ----------------------------------------------------------------------------
    def snapshot_device(self, snapshot: Snapshot) -> str:
        """A path for the snapshot's export (nothing is made: no device exists here)."""
        if self.inventory().get(snapshot.id) != "snapshot":
            raise BackendError(f"snapshot {snapshot.id} does not exist in pool {self.pool_name}")
        return f"{DEVICE_DIR}/snapshot-{snapshot.id}"

    def release_snapshot_device(self, snapshot: Snapshot) -> None:
        """Nothing to release."""

    # -- configuration ----------------------------------------------------------------------
    @classmethod
    def from_config(cls, section: Mapping[str, object]) -> SimBackend:
        """From the `[backend.sim]` table; unknown keys and bad values are ValueErrors."""
        for key in section:
            if key not in _CONFIG_KEYS:
                raise ValueError(
                    f"[backend.sim] unknown key {key!r}; known: {', '.join(_CONFIG_KEYS)}"
                )

        def positive_int(key: str) -> int | None:
            value = section.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"[backend.sim] {key} must be a positive integer, got {value!r}")
            return value

        def text(key: str, default: str | None) -> str | None:
            value = section.get(key, default)
            if value is None:
                return None
            if not isinstance(value, str) or not value:
                raise ValueError(f"[backend.sim] {key} must be a non-empty string, got {value!r}")
            return value

        consistent = section.get("consistent_group_snapshot", True)
        if not isinstance(consistent, bool):
            raise ValueError(
                f"[backend.sim] consistent_group_snapshot must be true or false, got {consistent!r}"
            )
        faults_table = section.get("faults", {})
        if not isinstance(faults_table, Mapping):
            raise ValueError("[backend.sim] faults must be a table of per-method tables")
        return cls(
            positive_int("capacity_bytes") or DEFAULT_CAPACITY_BYTES,
            consistent_group_snapshot=consistent,
            faults=FaultPlan.parse(faults_table),
            state_file=text("state_file", None),
            pool_name=text("pool_name", "sim") or "sim",
            name=text("volume_backend_name", "sim") or "sim",
            max_provisioned_bytes=positive_int("max_provisioned_bytes"),
        )


if TYPE_CHECKING:

    def _conforms(sim: SimBackend) -> Backend:
        return sim
