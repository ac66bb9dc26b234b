"""Backends by `[backend] kind`. Each factory imports its backend lazily and gets the
`[backend.<kind>]` table as it is, the state directory (for backend files) and the `[freeze]`
settings (the guard and its deadline; the simulated backend freezes nothing real).

To add a backend, add an entry to BACKENDS (e.g. "lvm": a function importing cohort.lvm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cohort.daemon.config import BackendConfig, ConfigError
from cohort.domain.backend import Backend
from cohort.freeze.settings import FreezeSettings

BackendFactory = Callable[[Mapping[str, Any], Path, FreezeSettings], Backend]


def _sim(section: Mapping[str, Any], state_dir: Path, freeze: FreezeSettings) -> Backend:
    from cohort.sim import SimBackend

    return SimBackend.from_config(section)


def _lvm(section: Mapping[str, Any], state_dir: Path, freeze: FreezeSettings) -> Backend:
    from cohort.lvm.backend import LvmBackend

    return LvmBackend.from_config(section, state_dir, freeze=freeze)


BACKENDS: dict[str, BackendFactory] = {"sim": _sim, "lvm": _lvm}


def check_kind(config: BackendConfig) -> BackendFactory:
    factory = BACKENDS.get(config.kind)
    if factory is None:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"[backend] kind {config.kind!r} is not one of: {known}")
    return factory


def build_backend(config: BackendConfig, state_dir: Path, freeze: FreezeSettings) -> Backend:
    factory = check_kind(config)
    try:
        return factory(config.section(), state_dir, freeze)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[backend.{config.kind}]: {exc}") from exc
