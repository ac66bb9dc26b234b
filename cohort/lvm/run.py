"""The one choke point through which cohort runs external commands (lvm, dmsetup, losetup).

Why `subprocess` and not the `sh` package
-----------------------------------------
cohortd is a multithreaded gRPC server: many RPC threads may run LVM or dmsetup at once. After a
`fork()` in a threaded process only the forking thread exists in the child; any lock another
thread held at that instant (the GIL's helpers, the logging module's locks, the import lock,
malloc arenas) stays locked for ever in the child. Running *Python* code in the child between
fork and exec can therefore deadlock. `sh` forks with `os.fork()` and runs Python in the child
before exec (it sets up a pty, signals, process groups and closes fds in Python), and by default
gives the child a tty as stdout, which changes how LVM formats and buffers output. `subprocess`
without `preexec_fn` (which cohort never passes) forks and execs in C (`_posixsubprocess`,
vfork/posix_spawn where possible): no Python runs in the child, so it is safe from any thread.
`tests/lvm/test_run_stress.py` runs many threads each running many short commands through this
module, repeated, and checks that nothing hangs and no output is lost or crossed.

Rules enforced here
-------------------
- argv lists only, never a shell; `LC_ALL=C` so messages can be classified;
- a timeout on every command: the child is started in its own session and its whole process
  group is killed on timeout. A child stuck in D state (LVM on a suspended device) cannot be
  killed; then we stop waiting after a short grace, raise `CommandTimeout`, and a daemon thread
  reaps it whenever it finally exits (no RPC thread is held hostage);
- stdout and stderr captured; a non-zero exit raises `CommandError` carrying argv, rc, stderr;
- a flight recorder of the last commands (argv, rc, duration, stderr tail), bound into the
  structlog event whenever a command fails. No command cohort runs carries a secret today (CHAP
  secrets go to LIO through rtslib, not argv), but what the recorder and `CommandError` show of
  argv passes `redact_argv` anyway, so a ``--password VALUE`` or ``password=VALUE`` added later
  is never written down.

`classify()` turns a `CommandError` into cohort's exception hierarchy; adapters call it at their
edge (see `cohort.lvm.errors`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from cohort.redaction import redact_argv

log = structlog.get_logger("cohort.lvm.run")

DEFAULT_TIMEOUT = 120.0
#: How long to wait for a killed child to go away before giving up on it.
KILL_GRACE = 5.0
STDERR_TAIL = 400


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    duration: float


class CommandError(Exception):
    """A command exited non-zero (or could not be started: rc 127)."""

    def __init__(self, argv: Sequence[str], rc: int, stderr: str, stdout: str = "") -> None:
        self.argv = tuple(argv)
        self.rc = rc
        self.stderr = stderr
        self.stdout = stdout
        super().__init__(f"{' '.join(redact_argv(self.argv))}: exit {rc}: {_tail(stderr)}")


class CommandTimeout(CommandError):
    """The command did not finish in time; it was killed (rc -9)."""

    def __init__(self, argv: Sequence[str], timeout: float, stderr: str = "") -> None:
        super().__init__(argv, -signal.SIGKILL, stderr or f"timed out after {timeout:.1f}s")
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class FlightEntry:
    argv: tuple[str, ...]
    rc: int
    duration: float
    stderr_tail: str
    started_at: float

    def as_dict(self) -> dict[str, object]:
        return {
            "argv": list(redact_argv(self.argv)),
            "rc": self.rc,
            "duration": round(self.duration, 4),
            "stderr": self.stderr_tail,
        }


class FlightRecorder:
    """Ring buffer of the last `size` commands; thread-safe."""

    def __init__(self, size: int = 50) -> None:
        self._entries: deque[FlightEntry] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: FlightEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[FlightEntry]:
        with self._lock:
            return list(self._entries)

    def dump(self) -> list[dict[str, object]]:
        return [e.as_dict() for e in self.entries()]


class Runner(Protocol):
    """What adapters need to run a command; `CommandRunner` is the real one, tests pass fakes."""

    recorder: FlightRecorder

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        ok_codes: Sequence[int] = (0,),
        env: Mapping[str, str] | None = None,
    ) -> Result: ...


def _tail(text: str, n: int = STDERR_TAIL) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def command_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small, predictable environment: PATH, LC_ALL=C and what the caller adds."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LC_ALL": "C",
        "LANG": "C",
        # lvm warns about inherited fds otherwise (close_fds already closes them).
        "LVM_SUPPRESS_FD_WARNINGS": "1",
    }
    if extra:
        env.update(extra)
    return env


def reap_later(proc: subprocess.Popen[Any]) -> None:
    """Wait for `proc` in a thread of its own (it may be stuck in D state for a long time)."""

    def reap() -> None:
        proc.wait()
        CHILDREN.discard(proc)

    threading.Thread(target=reap, name=f"reap-{proc.pid}", daemon=True).start()


class Children:
    """Every child process cohort started and has not seen exit. cohortd waits for them before
    it exits (`wait`): an `lvm` command stopped midway can leave a thin LV suspended."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen[Any]] = set()
        self._cond = threading.Condition()

    def add(self, proc: subprocess.Popen[Any]) -> None:
        with self._cond:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen[Any]) -> None:
        with self._cond:
            self._procs.discard(proc)
            self._cond.notify_all()

    def running(self) -> list[int]:
        with self._cond:
            return [p.pid for p in self._procs if p.poll() is None]

    def wait(self, timeout: float) -> list[int]:
        """Wait up to `timeout` s for every child to exit; the pids still running."""
        give_up = time.monotonic() + timeout
        while (pids := self.running()) and time.monotonic() < give_up:
            with self._cond:
                self._cond.wait(min(0.1, max(0.0, give_up - time.monotonic())))
        return pids


#: The process's children, shared by every runner and `lvm` session.
CHILDREN = Children()


class CommandRunner:
    """Runs argv lists with a timeout, records them, raises `CommandError` on failure."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        recorder: FlightRecorder | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.recorder = recorder or FlightRecorder()
        self._env = command_env(env)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        ok_codes: Sequence[int] = (0,),
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """Run argv; `env` adds variables to the runner's small fixed environment."""
        args = tuple(argv)
        if not args or not all(isinstance(a, str) for a in args):
            raise TypeError("argv must be a non-empty sequence of str")
        limit = self.timeout if timeout is None else timeout
        started = time.monotonic()
        wall = time.time()
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv list, no shell, by design
                args,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**self._env, **env} if env else self._env,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            self._finish(args, 127, str(exc), started, wall)
            raise CommandError(args, 127, str(exc)) from exc
        CHILDREN.add(proc)
        try:
            out, err = proc.communicate(input, timeout=limit)
        except subprocess.TimeoutExpired:
            err = self._kill(proc)
            self._finish(args, -signal.SIGKILL, err, started, wall)
            raise CommandTimeout(args, limit, err) from None
        finally:
            if proc.returncode is not None:
                CHILDREN.discard(proc)
        result = Result(args, proc.returncode, out, err, time.monotonic() - started)
        self._finish(
            args, proc.returncode, err, started, wall, failed=proc.returncode not in ok_codes
        )
        if proc.returncode not in ok_codes:
            raise CommandError(args, proc.returncode, err, out)
        return result

    def _kill(self, proc: subprocess.Popen[str]) -> str:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            _, err = proc.communicate(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            # Unkillable (D state): do not hold the caller; reap it in the background.
            reap_later(proc)
            return "timed out; child did not exit after SIGKILL (uninterruptible?)"
        return f"timed out; killed. {_tail(err or '')}".strip()

    def _finish(
        self,
        args: tuple[str, ...],
        rc: int,
        stderr: str,
        started: float,
        wall: float,
        *,
        failed: bool = True,
    ) -> None:
        entry = FlightEntry(args, rc, time.monotonic() - started, _tail(stderr), wall)
        self.recorder.record(entry)
        if failed:
            log.error(
                "command failed",
                argv=list(redact_argv(args)),
                rc=rc,
                stderr=entry.stderr_tail,
                flight_recorder=self.recorder.dump(),
            )
