"""What each LVM option buys inside a freeze window: 8 thin snapshots taken different ways.

Run in the guest (real LVM), as root, with cohortd's command profile installed:

    vagrant/testbed exec -- /opt/cohort/bin/python -m bench.snapshot_options [--rounds 3]

It makes 8 thin LVs of its own (`bench-opt-N`, untagged, so cohortd ignores them) in the VG
`cohort` and, each round, in turn: the naive loop (8 `lvm lvcreate -s` processes, the host's own
configuration), then the same 8 snapshots through one warmed `lvm` session (the freeze's way)
with each option set below; the snapshots are removed between variants. It prints, per variant,
the median and range of the 8 snapshots' time and the ratio of each median to the naive loop's.
No gate is frozen here: this is LVM's own cost, which is nearly all of a freeze window.

Not a variant: `--devices PV` (scan only the PV). In an `lvm` shell session lvm2 2.03.16 ended
the session after the first such command; cohort's accept-only filter already limits every
scan to the PVs (`cohort.lvm.hygiene`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from cohort.lvm.run import CommandRunner
from cohort.lvm.session import LvmSession

VG = "cohort"
POOL = "pool"
COUNT = 8
FAST = ["-An", "--noudevsync", "--ignoremonitoring"]


def snap_argv(i: int, extra: Sequence[str]) -> list[str]:
    return ["lvcreate", "--snapshot", "--name", f"bench-opt-{i}-s", "--activate", "n", *extra]


def origin(i: int) -> str:
    return f"{VG}/bench-opt-{i}"


def naive(runner: CommandRunner) -> float:
    started = time.monotonic()
    for i in range(COUNT):
        runner.run(["lvm", *snap_argv(i, []), "--", origin(i)])
    return time.monotonic() - started


def session_variant(runner: CommandRunner, extra: Sequence[str]) -> Callable[[], float]:
    def run() -> float:
        with LvmSession(runner.recorder) as session:
            session.command(["lvs", "--", f"{VG}/{POOL}"])  # warm, not timed
            started = time.monotonic()
            for i in range(COUNT):
                session.command([*snap_argv(i, extra), "--", origin(i)])
            return time.monotonic() - started

    return run


def clean(runner: CommandRunner) -> None:
    for i in range(COUNT):
        runner.run(["lvm", "lvremove", "--yes", "--", f"{origin(i)}-s"], ok_codes=(0, 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runner = CommandRunner()
    variants: dict[str, Callable[[], float]] = {
        "naive loop (8 processes)": lambda: naive(runner),
        "session, plain": session_variant(runner, []),
        "session, -An --noudevsync --ignoremonitoring": session_variant(runner, FAST),
        "  + --config backup/archive=0": session_variant(
            runner, [*FAST, "--config", "backup/archive=0"]
        ),
    }
    for i in range(COUNT):
        name = f"bench-opt-{i}"
        thin = ["--type", "thin", "--virtualsize", "64m", "--thinpool", POOL, "--name", name]
        runner.run(["lvm", "lvcreate", *thin, "--", VG])
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):
            for name, variant in variants.items():
                times[name].append(variant())
                clean(runner)
    finally:
        clean(runner)
        for i in range(COUNT):
            runner.run(["lvm", "lvremove", "--yes", "--", origin(i)], ok_codes=(0, 5))
    base = statistics.median(times["naive loop (8 processes)"])
    print(f"{COUNT} thin snapshots, {args.rounds} rounds (seconds; ratio to the naive loop)")
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"{name:48s} median {med:6.3f}  range {min(values):6.3f}-{max(values):6.3f}"
            f"  ratio {med / base:5.2f}"
        )


if __name__ == "__main__":
    main()
