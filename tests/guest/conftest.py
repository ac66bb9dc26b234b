"""The guest suite: black-box tests of cohortd running under systemd in a real kernel.

Run inside the guest by `vagrant/testbed test` (as root, from /src, with /opt/cohort's Python).
Anywhere else (the host's unit-test run collects tests/ too) every test here is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import UNIT, channel, in_guest, sh, unit_property, wait_serving


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--freeze-matrix",
        action="store_true",
        default=False,
        help="run the freeze's full fault matrix (test_freeze_faults.py), not only CI's cases",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "full_matrix: a freeze test only --freeze-matrix runs")
    if in_guest():
        # The load test on LVM under emulation: 32 clients' LVM commands queue on the VG lock
        # and share 2 emulated CPUs, so a call may wait for dozens of others; each call still
        # has to answer within its deadline. A shorter run keeps the suite's time in budget.
        os.environ.setdefault("COHORT_LOAD_DEADLINE", "600")
        os.environ.setdefault("COHORT_LOAD_SECONDS", "10")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    if not config.getoption("--freeze-matrix", default=False):
        kept = [item for item in items if item.get_closest_marker("full_matrix") is None]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in kept])
            items[:] = kept
    skip = pytest.mark.skip(reason="guest suite: runs inside the test bed (vagrant/testbed test)")
    for item in items:
        if Path(item.fspath).is_relative_to(here):
            item.add_marker(pytest.mark.guest)
            if not in_guest():
                item.add_marker(skip)


@pytest.fixture
def cohortd() -> Iterator[None]:
    """cohortd active and SERVING before and after the test."""
    assert unit_property("ActiveState") == "active"
    assert wait_serving() == "SERVING"
    yield
    if unit_property("ActiveState") != "active":
        sh("systemctl", "restart", UNIT)
    assert wait_serving() == "SERVING"


@pytest.fixture(scope="session")
def freeze_hooks() -> Iterator[None]:
    """cohortd with the freeze's test hooks on (a systemd drop-in and one restart), for the
    rest of the session; off again (another restart) at its end. The backend must report
    consistent_group_snapshot_enabled (there is no freeze to hook otherwise)."""
    from .freeze_kit import hooks_disabled, hooks_enabled, require_consistent
    from .test_scenario import Client

    with channel() as ch:
        require_consistent(Client(ch))
    hooks_enabled()
    yield
    hooks_disabled()
