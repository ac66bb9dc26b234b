"""The lvm shell batch: recorded report stream, status mapping, argument checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.errors import InvalidArgument
from cohort.lvm.shell import ShellBatchError, check_command, documents, run_batch, status_of

from .fakes import FakeSystem

FIXTURE = Path(__file__).parent / "fixtures" / "shell_report_stream.txt"


def test_recorded_stream_statuses() -> None:
    # Recorded in the guest: lvs, lvcreate -s (ok), the same lvcreate again (fails), EOF.
    docs = documents(FIXTURE.read_text())
    assert [status_of(d) for d in docs] == [1, 1, 5, None]
    assert docs[0]["report"]


def test_documents_skip_noise() -> None:
    text = (
        'garbage {not json\n{"log": [{"log_type": "status", "log_context": "shell", '
        '"log_ret_code": "1"}]} trailing'
    )
    assert [status_of(d) for d in documents(text)] == [1]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-x"],
        ["quit"],
        ["lvs", "a b"],
        ["lvs", 'a"'],
        ["lvs", "x\ny"],
        ["lvs", ""],
        ["lvs", "a;b"],
    ],
)
def test_check_command_refuses(argv: list[str]) -> None:
    with pytest.raises(InvalidArgument):
        check_command(argv)


def test_batch_one_process_and_failure_index() -> None:
    fake = FakeSystem()
    ok = ["lvchange", "--activate", "y", "--", "vg0/pool"]
    assert len(run_batch(fake, [ok, ok])) == 2
    assert fake.calls == [("lvm",)]
    bad = ["lvremove", "--yes", "--", "vg0/nope"]
    with pytest.raises(ShellBatchError) as ei:
        run_batch(fake, [ok, bad, ok])
    assert ei.value.index == 1 and "Failed to find" in ei.value.stderr
    assert [o.ok for o in ei.value.outcomes] == [True, False, True]


def test_missing_status_counts_as_failure() -> None:
    class Dead(FakeSystem):
        def _shell(self, text: str):  # type: ignore[no-untyped-def]
            from cohort.lvm.run import Result

            return Result(("lvm",), 0, "", "Segmentation fault", 0.0)

    with pytest.raises(ShellBatchError) as ei:
        run_batch(Dead(), [["lvs", "--", "vg0"]])
    assert ei.value.rc == -1
