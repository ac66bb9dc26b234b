"""Capabilities dataclass -> HostCapabilities. The dataclass fields are named as the proto fields
(minus generation and updated_at, which the broadcaster adds)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from cohort.daemon.convert.records import timestamp
from cohort.domain.capabilities import Capabilities, PoolCapabilities
from cohort.v1 import capabilities_pb2


def _values(obj: Any, message: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    known = set(message.DESCRIPTOR.fields_by_name)
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name in known - skip}


def pool(p: PoolCapabilities) -> capabilities_pb2.PoolCapabilities:
    return capabilities_pb2.PoolCapabilities(**_values(p, capabilities_pb2.PoolCapabilities))


def host_capabilities(
    caps: Capabilities, generation: int, updated_at: datetime
) -> capabilities_pb2.HostCapabilities:
    return capabilities_pb2.HostCapabilities(
        **_values(caps, capabilities_pb2.HostCapabilities, frozenset({"pools"})),
        pools=[pool(p) for p in caps.pools],
        generation=generation,
        updated_at=timestamp(updated_at),
    )
