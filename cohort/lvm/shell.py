"""Batches of LVM commands through one `lvm` shell process.

Field notes: 8 thin snapshots fed to one `lvm` process with `-An --noudevsync
--ignoremonitoring` cost 0.36 of 8 separate `lvcreate` processes; most of LVM's time is
per-process start-up and scanning. cohort uses this for group snapshots and group
create-from-source.

How the per-command status is known: `lvm` with no arguments reads commands from stdin (one a
line, split on blanks). With a command profile that turns on the command log report
(`log/report_command_log=1`, `command_log_selection="log_context=shell"`, `output_format=json`)
and `LVM_REPORT_FD=1`, lvm writes, after every command, one JSON document to stdout whose "log"
list ends with the shell's status of that command (`log_ret_code` "1" = processed, else failed),
plus the command's own report when it has one. The shell itself exits 0 at end of input
whatever its commands did, so the statuses are the only truth; a document missing (lvm died)
counts as a failure. The profile is installed by `cohort.lvm.hygiene` (lvm2's own lvmdbusd
daemon uses the same mechanism with its `lvmdbusd` profile).

Arguments are never quoted: every one must match a strict charset (no blanks, no quotes), which
cohort's generated names, sizes and tags always do; anything else is refused before lvm runs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cohort.errors import InvalidArgument
from cohort.lvm.run import CommandError, FlightEntry, Runner

PROFILE_NAME = "cohortd"
PROFILE_TEXT = """\
# cohortd: command profile for batches fed to one `lvm` shell (cohort.lvm.shell).
# Installed and kept by cohortd; edits are overwritten.
global {
\tunits = "b"
\tsuffix = 0
}
report {
\toutput_format = "json"
\tcompact_output = 0
\tbinary_values_as_numeric = 0
}
log {
\treport_command_log = 1
\tcommand_log_sort = "log_seq_num"
\tcommand_log_cols = "log_seq_num,log_type,log_context,log_object_type,log_object_name,\
log_message,log_errno,log_ret_code"
\tcommand_log_selection = "log_context=shell"
}
"""

_SAFE = re.compile(r"[A-Za-z0-9_+./=:,%@-]+")
#: Options for fast metadata-only commands inside a batch (field notes: 0.36 of naive).
FAST_OPTIONS = ("-An", "--noudevsync", "--ignoremonitoring")


class ShellBatchError(CommandError):
    """A command of a batch failed; `index` is its position, `outcomes` all statuses seen."""

    def __init__(
        self, argv: Sequence[str], rc: int, stderr: str, index: int, outcomes: list[Outcome]
    ) -> None:
        super().__init__(argv, rc, stderr)
        self.index = index
        self.outcomes = outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    argv: tuple[str, ...]
    ret_code: int
    """lvm's return code: 1 (ECMD_PROCESSED) is success; -1 when no status was seen."""
    report: Mapping[str, object]

    @property
    def ok(self) -> bool:
        return self.ret_code == 1


def check_command(argv: Sequence[str]) -> str:
    if not argv:
        raise InvalidArgument("empty lvm shell command")
    for arg in argv:
        if not _SAFE.fullmatch(arg):
            raise InvalidArgument(f"argument not allowed in an lvm shell batch: {arg!r}")
    if argv[0].startswith("-") or argv[0] in ("quit", "exit", "lvm"):
        raise InvalidArgument(f"not an lvm command: {argv[0]!r}")
    return " ".join(argv)


def documents(text: str) -> list[Mapping[str, object]]:
    """The JSON documents lvm wrote one after another (anything else is skipped)."""
    decoder = json.JSONDecoder()
    docs: list[Mapping[str, object]] = []
    pos = 0
    while True:
        start = text.find("{", pos)
        if start < 0:
            return docs
        try:
            doc, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        if isinstance(doc, dict):
            docs.append(doc)
        pos = end


def status_of(doc: Mapping[str, object]) -> int | None:
    log = doc.get("log")
    if not isinstance(log, list):
        return None
    for entry in reversed(log):
        if (
            isinstance(entry, dict)
            and entry.get("log_type") == "status"
            and entry.get("log_context") == "shell"
        ):
            try:
                return int(entry.get("log_ret_code", "-1"))
            except ValueError:
                return -1
    return None


def run_batch(
    runner: Runner,
    commands: Sequence[Sequence[str]],
    *,
    lvm: str = "lvm",
    profile: str = PROFILE_NAME,
    timeout: float | None = None,
) -> list[Outcome]:
    """Run every command in one lvm process; raise ShellBatchError if any failed."""
    if not commands:
        return []
    lines = [check_command(c) for c in commands]
    started = time.monotonic()
    res = runner.run(
        [lvm],
        input="\n".join(lines) + "\n",
        env={"LVM_REPORT_FD": "1", "LVM_COMMAND_PROFILE": profile},
        timeout=timeout,
    )
    statuses = [(s, d) for d in documents(res.stdout) if (s := status_of(d)) is not None]
    outcomes: list[Outcome] = []
    for i, argv in enumerate(commands):
        rc, doc = statuses[i] if i < len(statuses) else (-1, {})
        outcomes.append(Outcome(tuple(argv), rc, doc))
    share = (time.monotonic() - started) / len(commands)
    for o in outcomes:
        runner.recorder.record(
            FlightEntry((lvm, *o.argv), 0 if o.ok else o.ret_code, share, "", time.time())
        )
    for i, o in enumerate(outcomes):
        if not o.ok:
            raise ShellBatchError((lvm, *o.argv), o.ret_code, res.stderr, i, outcomes)
    return outcomes
