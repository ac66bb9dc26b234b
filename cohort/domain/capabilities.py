"""Capabilities in the shape Cinder's scheduler consumes, derived from the backend's pool stats,
and the capacity rule (over-subscription) that creates must respect."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cohort import __version__
from cohort.domain.backend import PoolStats
from cohort.errors import ResourceExhausted

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class CapabilityPolicy:
    """Operator settings that shape the reported stats and the capacity rule."""

    volume_backend_name: str = "cohort"
    max_over_subscription_ratio: float = 20.0
    reserved_percentage: int = 0
    #: The most volumes a group may hold (a rule, not a capability; see docs/CONVENTIONS.md).
    max_group_volumes: int = 256
    #: The most volumes a consistent group may hold ([freeze] max_group_volumes): its freeze
    #: must fit the guard's deadline.
    max_consistent_group_volumes: int = 12


@dataclass(frozen=True, slots=True)
class PoolCapabilities:
    pool_name: str
    total_capacity_gb: float
    free_capacity_gb: float
    provisioned_capacity_gb: float
    reserved_percentage: int
    max_over_subscription_ratio: float
    thin_provisioning_support: bool
    thick_provisioning_support: bool
    total_volumes: int
    multiattach: bool
    qos_support: bool
    location_info: str
    backend_state: str
    consistent_group_snapshot_enabled: bool
    consistencygroup_support: bool
    total_capacity_bytes: int
    free_capacity_bytes: int
    provisioned_capacity_bytes: int
    data_percent: float
    metadata_percent: float


@dataclass(frozen=True, slots=True)
class Capabilities:
    host: str
    volume_backend_name: str
    vendor_name: str
    driver_version: str
    storage_protocol: str
    pools: tuple[PoolCapabilities, ...]
    consistent_group_snapshot_enabled: bool
    consistencygroup_support: bool

    def flat(self) -> dict[str, object]:
        """Capability name -> value, as specs name them: the host's keys and its pool's."""
        flat: dict[str, object] = {k: v for k, v in asdict(self).items() if k != "pools"}
        if self.pools:
            flat.update(asdict(self.pools[0]))
        return flat


def derive(stats: PoolStats, policy: CapabilityPolicy, host: str) -> Capabilities:
    consistent = stats.consistent_group_snapshot
    pool = PoolCapabilities(
        pool_name=stats.pool_name,
        total_capacity_gb=round(stats.total_bytes / GIB, 2),
        free_capacity_gb=round(stats.free_bytes / GIB, 2),
        provisioned_capacity_gb=round(stats.provisioned_bytes / GIB, 2),
        reserved_percentage=policy.reserved_percentage,
        max_over_subscription_ratio=policy.max_over_subscription_ratio,
        thin_provisioning_support=stats.thin,
        thick_provisioning_support=not stats.thin,
        total_volumes=stats.total_volumes,
        multiattach=True,  # several initiators may share an export (cohort.manager.exports)
        qos_support=False,
        location_info=stats.location_info,
        backend_state=stats.backend_state,
        consistent_group_snapshot_enabled=consistent,
        consistencygroup_support=consistent,
        total_capacity_bytes=stats.total_bytes,
        free_capacity_bytes=stats.free_bytes,
        provisioned_capacity_bytes=stats.provisioned_bytes,
        data_percent=stats.data_percent,
        metadata_percent=stats.metadata_percent,
    )
    return Capabilities(
        host=host,
        volume_backend_name=policy.volume_backend_name,
        vendor_name="cohort",
        driver_version=__version__,
        storage_protocol="iSCSI",
        pools=(pool,),
        consistent_group_snapshot_enabled=consistent,
        consistencygroup_support=consistent,
    )


def check_room(stats: PoolStats, policy: CapabilityPolicy, size_bytes: int, what: str) -> None:
    """Refuse an allocation of size_bytes that would exceed the over-subscription ratio (thin) or
    the free space (thick), after the reserved percentage."""
    reserved = stats.total_bytes * policy.reserved_percentage / 100
    if stats.thin:
        limit = (stats.total_bytes - reserved) * policy.max_over_subscription_ratio
        if stats.provisioned_bytes + size_bytes > limit:
            raise ResourceExhausted(
                f"{what}: {size_bytes} bytes would provision "
                f"{stats.provisioned_bytes + size_bytes} of {int(limit)} bytes allowed "
                f"(max_over_subscription_ratio {policy.max_over_subscription_ratio}, "
                f"reserved_percentage {policy.reserved_percentage})"
            )
    elif size_bytes > stats.free_bytes - reserved:
        raise ResourceExhausted(f"{what}: {size_bytes} bytes do not fit in the free space")
