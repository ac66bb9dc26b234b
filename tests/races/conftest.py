"""The race tier: an in-process cohortd on the simulated backend, a World to make objects in,
and a Racer with two channels of its own. The tally of outcomes per test is printed at the end
of the run, so a tier that never actually raced shows it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import api
from tests.inprocess import Daemon
from tests.races.race import Racer
from tests.races.world import World

__all__ = ["api"]
_TALLIES = pytest.StashKey[dict[str, Counter[str]]]()


@pytest.fixture
def world(api: Daemon) -> World:
    return World(api)


@pytest.fixture
def racer(request: pytest.FixtureRequest, tmp_path: Path, world: World) -> Iterator[Racer]:
    started = Racer(f"unix://{tmp_path / 'cohortd.sock'}", world)
    try:
        yield started
    finally:
        started.close()
        tallies = request.config.stash.setdefault(_TALLIES, {})
        tallies[request.node.nodeid] = started.tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tallies = terminalreporter.config.stash.get(_TALLIES, {})
    if not tallies:
        return
    terminalreporter.section("race outcomes")
    for nodeid, tally in tallies.items():
        outcomes = ", ".join(f"{label}: {n}" for label, n in sorted(tally.items()))
        terminalreporter.write_line(f"{nodeid.rsplit('::', 1)[-1]}: {outcomes}")
