"""The export plane from `[exports]`: target by backend, key file errors, the LIO restore check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cohort.daemon.config import ConfigError
from cohort.daemon.exports import LIO_RESTORE_UNIT, build_plane, lio_restore_unmasked
from cohort.domain.exports import ExportKind
from cohort.iscsi.memory import MemoryTargets
from cohort.iscsi.settings import ExportSettings


def test_the_simulated_backend_exports_to_memory_with_a_key_in_the_state_dir(
    tmp_path: Path,
) -> None:
    plane = build_plane(ExportSettings(), "sim", tmp_path)
    assert isinstance(plane.targets, MemoryTargets)
    assert (tmp_path / "exports.key").stat().st_mode & 0o777 == 0o600
    assert plane.target_iqn(ExportKind.VOLUME, "v") == "iqn.2026-12.org.cohort:volume-v"
    assert [str(p) for p in plane.targets.portals()] == ["127.0.0.1:3260"]


def test_an_exposed_key_file_refuses_the_start(tmp_path: Path) -> None:
    key = tmp_path / "exports.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="key_file"):
        build_plane(ExportSettings(key_file=str(key)), "sim", tmp_path)


def test_a_malformed_portal_refuses_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="portals"):
        build_plane(ExportSettings(portals=("127.0.0.1:notaport",)), "sim", tmp_path)


def test_debians_lio_restore_is_noticed_unless_masked(tmp_path: Path) -> None:
    units, etc = tmp_path / "lib", tmp_path / "etc"
    units.mkdir()
    etc.mkdir()
    assert not lio_restore_unmasked([units], etc)  # not installed
    (units / LIO_RESTORE_UNIT).write_text("[Unit]\n")
    assert lio_restore_unmasked([units], etc)
    (etc / LIO_RESTORE_UNIT).symlink_to("/dev/null")
    assert not lio_restore_unmasked([units], etc)
