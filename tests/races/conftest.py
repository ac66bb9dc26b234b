"""The race tier: an in-process cohortd on the simulated backend, a World to make objects in,
and a Racer with two channels of its own, one of each per test module. The tally of outcomes
per test is printed at the end of the run, so a tier that never actually raced shows it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inprocess import Daemon
from tests.races.race import Racer
from tests.races.world import World

_TALLIES = pytest.StashKey[dict[str, Counter[str]]]()


@pytest.fixture(scope="module")
def socket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("races") / "cohortd.sock"


@pytest.fixture(scope="module")
def world(socket: Path) -> Iterator[World]:
    """One daemon per module (each test makes objects of its own in it)."""
    daemon = Daemon(socket)
    try:
        yield World(daemon)
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def racers(socket: Path, world: World) -> Iterator[Racer]:
    started = Racer(f"unix://{socket}", world)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def racer(request: pytest.FixtureRequest, racers: Racer) -> Iterator[Racer]:
    """The module's racer with a fresh tally; the sim's faults cleared after the test."""
    racers.tally = Counter()
    try:
        yield racers
    finally:
        racers.world.daemon.faults()
        request.config.stash.setdefault(_TALLIES, {})[request.node.nodeid] = racers.tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tallies = terminalreporter.config.stash.get(_TALLIES, {})
    if not tallies:
        return
    terminalreporter.section("race outcomes")
    for nodeid, tally in tallies.items():
        outcomes = ", ".join(f"{label}: {n}" for label, n in sorted(tally.items()))
        terminalreporter.write_line(f"{nodeid.rsplit('::', 1)[-1]}: {outcomes}")
