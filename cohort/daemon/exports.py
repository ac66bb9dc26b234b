"""The export plane from `[exports]`: the kernel's target (or the in-memory one), its portals,
and the sealer of CHAP secrets with its key file."""

from __future__ import annotations

from pathlib import Path

from cohort.daemon.config import ConfigError
from cohort.domain.exports import ExportPlane, Targets
from cohort.iscsi.memory import MemoryTargets
from cohort.iscsi.portals import PortalFinder
from cohort.iscsi.secrets import Sealer, SecretKeyError, new_credentials
from cohort.iscsi.settings import ExportSettings

KEY_FILE_NAME = "exports.key"


def target_kind(settings: ExportSettings, backend_kind: str) -> str:
    return settings.target or ("memory" if backend_kind == "sim" else "lio")


def build_plane(settings: ExportSettings, backend_kind: str, state_dir: Path) -> ExportPlane:
    key_file = Path(settings.key_file) if settings.key_file else state_dir / KEY_FILE_NAME
    try:
        sealer = Sealer.from_file(key_file)
    except SecretKeyError as exc:
        raise ConfigError(f"[exports] key_file: {exc}") from exc
    try:
        portals = PortalFinder(settings.portals, settings.interfaces, settings.port)
    except ValueError as exc:
        raise ConfigError(f"[exports] portals: {exc}") from exc
    prefix = f"{settings.iqn_prefix}:"
    targets: Targets
    if target_kind(settings, backend_kind) == "memory":
        targets = MemoryTargets(prefix, portals)
    else:
        from cohort.iscsi.lio import LioTargets

        targets = LioTargets(prefix, portals)
    return ExportPlane(targets, sealer, new_credentials, settings.iqn_prefix)
