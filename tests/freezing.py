"""A simulated backend made to report a given freeze record (fixed figures for exact checks)."""

from __future__ import annotations

from typing import Any

import pytest

from cohort.domain.backend import ModelUpdate
from cohort.domain.model import FreezeRecord
from cohort.sim import SimBackend


def report_freeze(
    monkeypatch: pytest.MonkeyPatch, sim: SimBackend, method_name: str, record: FreezeRecord
) -> None:
    """Make `sim.<method_name>` (create_group_snapshot, create_group_from_src) answer `record`
    in its model update."""
    method = getattr(sim, method_name)

    def call(*args: Any, **kwargs: Any) -> Any:
        model, updates = method(*args, **kwargs)
        return ModelUpdate(status=model.status if model else None, freeze=record), updates

    monkeypatch.setattr(sim, method_name, call)
