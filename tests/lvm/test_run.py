"""The choke point: output, exit codes, timeouts, the flight recorder, classification."""

from __future__ import annotations

import time

import pytest
import structlog

from cohort.errors import BackendError, Busy, ResourceExhausted
from cohort.lvm.errors import (
    CommandTimedOut,
    NoSpace,
    ObjectExists,
    ObjectNotFound,
    classify,
    edge,
)
from cohort.lvm.run import CommandError, CommandRunner, CommandTimeout, FlightRecorder


def test_runs_argv_and_captures_output() -> None:
    res = CommandRunner().run(["sh", "-c", 'echo out; echo err >&2; echo "$LC_ALL"'])
    assert res.rc == 0
    assert res.stdout == "out\nC\n"
    assert res.stderr == "err\n"
    assert res.argv == ("sh", "-c", 'echo out; echo err >&2; echo "$LC_ALL"')


def test_no_shell_interpretation() -> None:
    res = CommandRunner().run(["echo", "$(id)", ";", "rm", "-rf", "/nonexistent"])
    assert res.stdout == "$(id) ; rm -rf /nonexistent\n"


def test_input_is_fed() -> None:
    assert CommandRunner().run(["cat"], input="a\nb\n").stdout == "a\nb\n"


def test_nonzero_exit_raises_typed_error() -> None:
    with pytest.raises(CommandError) as ei:
        CommandRunner().run(["sh", "-c", "echo boom >&2; exit 5"])
    assert ei.value.rc == 5
    assert ei.value.stderr == "boom\n"
    assert ei.value.argv[0] == "sh"


def test_ok_codes() -> None:
    assert CommandRunner().run(["sh", "-c", "exit 3"], ok_codes=(0, 3)).rc == 3


def test_missing_binary_is_rc_127() -> None:
    with pytest.raises(CommandError) as ei:
        CommandRunner().run(["/nonexistent/cohort-no-such-tool"])
    assert ei.value.rc == 127


def test_rejects_non_str_argv() -> None:
    with pytest.raises(TypeError):
        CommandRunner().run(["echo", 1])  # type: ignore[list-item]


def test_timeout_kills_the_whole_process_group() -> None:
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout) as ei:
        # The grandchild `sleep` would keep the pipes open if only `sh` were killed.
        CommandRunner().run(["sh", "-c", "sleep 30 & sleep 30; wait"], timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert ei.value.rc == -9
    assert isinstance(classify(ei.value), CommandTimedOut)


def test_flight_recorder_keeps_last_n_and_logs_on_failure() -> None:
    rec = FlightRecorder(size=3)
    runner = CommandRunner(recorder=rec)
    for i in range(5):
        runner.run(["echo", str(i)])
    assert [e.argv[1] for e in rec.entries()] == ["2", "3", "4"]
    with structlog.testing.capture_logs() as logs, pytest.raises(CommandError):
        runner.run(["sh", "-c", "echo nope >&2; exit 2"])
    (event,) = [e for e in logs if e["event"] == "command failed"]
    assert event["rc"] == 2
    assert event["stderr"] == "nope"
    dumped = event["flight_recorder"]
    assert len(dumped) == 3
    assert dumped[-1]["rc"] == 2
    assert dumped[0]["argv"] == ["echo", "3"]


def test_secrets_in_argv_are_not_recorded_nor_logged() -> None:
    runner = CommandRunner()
    argv = ["sh", "-c", "exit 3", "--password", "Zq8rT2mVx0bN4kLs", "chap_secret=Zq8rT2mVx0bN4kLs"]
    with structlog.testing.capture_logs() as logs, pytest.raises(CommandError) as info:
        runner.run(argv)
    assert "Zq8rT2mVx0bN4kLs" not in str(info.value)
    assert info.value.argv == tuple(argv)  # the error itself keeps what was run
    (event,) = [e for e in logs if e["event"] == "command failed"]
    assert "Zq8rT2mVx0bN4kLs" not in repr(event)
    assert event["flight_recorder"][-1]["argv"][-2:] == ["<redacted>", "chap_secret=<redacted>"]


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ('  Failed to find logical volume "cohort/volume-x"', ObjectNotFound),
        ('  Volume group "nope" not found', ObjectNotFound),
        (
            "device-mapper: remove ioctl on cohort-gate-x  failed: No such device or address",
            ObjectNotFound,
        ),
        ('  Logical Volume "volume-x" already exists in volume group "cohort"', ObjectExists),
        ("device-mapper: create ioctl on cohort-gate-x failed: Device or resource busy", Busy),
        ("  Logical volume cohort/volume-x in use.", Busy),
        ("  Logical volume cohort/volume-x contains a filesystem in use.", Busy),
        # lvremove of a snapshot LV under its read-only device (an export's), in the guest.
        ("  Logical volume cohort/_snapshot-x is used by another device.", Busy),
        ("  Insufficient free space: 100 extents needed, but only 10 available", NoSpace),
        (
            "  Cannot create new thin volume, free space in thin pool cohort/pool reached "
            "threshold.",
            NoSpace,
        ),
        ("  something else went wrong", BackendError),
    ],
)
def test_classification(stderr: str, kind: type[Exception]) -> None:
    err = classify(CommandError(["lvm", "lvcreate"], 5, stderr), "volume x")
    assert type(err) is kind
    assert "volume x" in str(err)


def test_no_space_is_resource_exhausted() -> None:
    assert issubclass(NoSpace, ResourceExhausted)
    assert issubclass(Busy, BackendError)


def test_edge_translates() -> None:
    with pytest.raises(ObjectNotFound) as ei, edge("gate y"):
        raise CommandError(["dmsetup", "remove"], 1, "Device does not exist.")
    assert isinstance(ei.value.__cause__, CommandError)
