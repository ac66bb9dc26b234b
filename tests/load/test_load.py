"""The load test on the simulated backend, in-process: 32 clients of mixed calls for a bounded
time (COHORT_LOAD_SECONDS, COHORT_LOAD_CLIENTS); no lost update, no code outside the documented
ones, no call without an answer, and at the end the sim's pool equal to the store."""

from __future__ import annotations

from pathlib import Path

import grpc

from tests.inprocess import Daemon
from tests.load.run import load_problems, run_load
from tests.races.world import store_problems


def test_load_on_the_sim(tmp_path: Path) -> None:
    socket = tmp_path / "cohortd.sock"
    daemon = Daemon(socket)
    try:
        run = run_load(lambda: grpc.insecure_channel(f"unix://{socket}"))
        print(run.report())
        problems = load_problems(daemon, run)
        groups = set(run.shared.group_ids)
        for client in run.clients:
            groups.update(client.ledger.groups)
            groups.update(client.ledger.gone)
        problems += store_problems(daemon, groups)
        assert not problems, "\n".join(problems[:50])
    finally:
        daemon.stop()
