"""The installed unit's ordering, read from systemd/cohortd.service."""

from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "cohortd.service"


def values(key: str) -> list[str]:
    """Every word of every `key=` line of the unit (systemd merges repeated list settings)."""
    words: list[str] = []
    for line in UNIT.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            words += value.split()
    return words


def test_restored_targets_start_after_the_network_is_up() -> None:
    """A portal address must be up before the restore binds it."""
    assert "network-online.target" in values("Wants")
    assert "network-online.target" in values("After")
