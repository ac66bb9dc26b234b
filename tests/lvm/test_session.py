"""The long-lived lvm process, against a stand-in that speaks the same status documents."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cohort.lvm.run import CHILDREN, CommandError, FlightRecorder
from cohort.lvm.session import LvmSession

FAKE = (sys.executable, str(Path(__file__).with_name("fake_lvm_shell.py")))


def session(recorder: FlightRecorder | None = None) -> LvmSession:
    return LvmSession(recorder or FlightRecorder(), program=FAKE, timeout=30)


def test_each_command_answers_before_the_next_is_sent() -> None:
    recorder = FlightRecorder()
    with session(recorder) as s:
        for i in range(5):
            assert s.command(["lvcreate", f"--name=lv{i}"]).ok
        assert s.command(["report", "x"]).ok
    assert [e.argv[1] for e in recorder.entries()] == ["lvcreate"] * 5 + ["report"]
    assert all(e.rc == 0 for e in recorder.entries())


def test_a_failed_command_raises_and_the_session_goes_on() -> None:
    with session() as s:
        with pytest.raises(CommandError) as err:
            s.command(["fail", "now"])
        assert err.value.rc == 5
        assert s.command(["lvs"]).ok


def test_lvm_dying_is_an_error_not_a_hang() -> None:
    with session() as s, pytest.raises(CommandError, match="lvm exited"):
        s.command(["die"])


def test_unsafe_arguments_never_reach_lvm() -> None:
    with session() as s, pytest.raises(Exception, match="not allowed"):
        s.command(["lvcreate", "a b"])


def test_close_reports_the_exit_code() -> None:
    s = session()
    assert s.command(["lvs"]).ok
    assert s.close() == 0


def test_cohortd_can_wait_for_every_child_it_started() -> None:
    s = session()
    assert s.pid in CHILDREN.running()
    assert CHILDREN.wait(0.05) == [s.pid]  # still running: its input is open
    s.close()
    assert CHILDREN.wait(5) == []
