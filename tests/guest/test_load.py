"""The load test (tests/load) on the LVM backend: the same 32 clients of mixed calls against the
cohortd that systemd runs in the guest, through its unix socket, or through COHORT_ENDPOINT with
COHORT_TLS_CA / COHORT_TLS_CERT / COHORT_TLS_KEY when they are set. At the end every object the
run made has its LV and no LV lacks its object; then the run deletes what it made."""

from __future__ import annotations

import os

from cohort.cli.connection import ConnectionOptions, open_channel
from tests.inprocess import Stubs
from tests.load.checks import everything
from tests.load.run import load_problems, run_load, tear_down

from .helpers import SOCKET
from .test_scenario import cohort_lvs


def connection() -> ConnectionOptions:
    env = os.environ.get
    return ConnectionOptions(
        endpoint=env("COHORT_ENDPOINT") or f"unix://{SOCKET}",
        tls_ca=env("COHORT_TLS_CA"),
        tls_cert=env("COHORT_TLS_CERT"),
        tls_key=env("COHORT_TLS_KEY"),
    )


def test_load_on_lvm(cohortd: None) -> None:
    options = connection()
    run = run_load(lambda: open_channel(options))
    print(run.report())
    with open_channel(options) as channel:
        api = Stubs(channel)
        try:
            problems = load_problems(api, run)
            listed = {o.id: o.name for kind, o in everything(api) if kind in ("volume", "snapshot")}
            ours = {i for i, name in listed.items() if name.startswith(run.run_id)}
            lvs = set(cohort_lvs())
            problems += [f"{i} has no LV" for i in sorted(ours - lvs)]
            problems += [f"LV of {i} without its object" for i in sorted(lvs - set(listed))]
        finally:
            tear_down(api, run.run_id)
        left = {o.id for _, o in everything(api) if o.name.startswith(run.run_id)}
    assert not problems, "\n".join(problems[:50])
    assert not left, f"the run's objects outlived its tear-down: {sorted(left)}"
    assert not ours & set(cohort_lvs()), "LVs of the run's objects outlived its tear-down"
