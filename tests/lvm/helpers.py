"""Shared helpers for the LVM backend's tests."""

from __future__ import annotations

from cohort.domain.model import Volume

GiB = 1024**3


def vol(size: int = GiB, **kw: object) -> Volume:
    return Volume(name="v", size_bytes=size, volume_type_id="t", **kw)  # type: ignore[arg-type]
