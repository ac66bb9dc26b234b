"""The export plane from `[exports]`: the kernel's target (or the in-memory one), its portals,
and the sealer of CHAP secrets with its key file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import structlog

from cohort.daemon.config import ConfigError
from cohort.domain.exports import ExportPlane, Targets
from cohort.iscsi.memory import MemoryTargets
from cohort.iscsi.portals import PortalFinder
from cohort.iscsi.secrets import Sealer, SecretKeyError, new_credentials
from cohort.iscsi.settings import ExportSettings

KEY_FILE_NAME = "exports.key"
#: Debian's restore of saved LIO targets at boot (rtslib-fb): it must stay masked on a cohort
#: node, or it restores targets before cohort's gates exist (cohort restores its own).
LIO_RESTORE_UNIT = "rtslib-fb-targetctl.service"
UNIT_DIRS = (Path("/lib/systemd/system"), Path("/usr/lib/systemd/system"))
MASK_DIR = Path("/etc/systemd/system")

log = structlog.get_logger(__name__)


def lio_restore_unmasked(unit_dirs: Sequence[Path] = UNIT_DIRS, mask_dir: Path = MASK_DIR) -> bool:
    """Whether Debian's LIO restore unit is installed and not masked."""
    installed = any((d / LIO_RESTORE_UNIT).exists() for d in unit_dirs)
    masked = (mask_dir / LIO_RESTORE_UNIT).resolve() == Path("/dev/null")
    return installed and not masked


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

        if lio_restore_unmasked():
            log.warning(
                "Debian's LIO restore is not masked: it would restore saved targets at boot "
                "before cohort's gates exist; run `systemctl mask " + LIO_RESTORE_UNIT + "`"
            )

        targets = LioTargets(prefix, portals)
    return ExportPlane(targets, sealer, new_credentials, settings.iqn_prefix)
