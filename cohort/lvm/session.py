"""One long-lived `lvm` shell process, fed one command at a time (the freeze's LVM process).

`cohort.lvm.shell.run_batch` hands a whole batch to `lvm` and reads every status at the end.
A freeze needs more: the process started and warmed (loaded, configured, its first scan done)
*before* the first gate is suspended, then each member's command sent only when the previous
one has finished, so that the caller can resume that member's gate at once (progressive thaw)
and stop sending past its deadline. The statuses come the same way as in a batch: the command
profile's command log report, one JSON document per command on `LVM_REPORT_FD=1` (see
`cohort.lvm.shell`), read here as it arrives.

The process runs in a session of its own (a signal to cohortd's process group does not reach
it) and is never killed by cohort: an `lvcreate -s` killed while it holds its thin origin
suspended leaves the origin suspended. `close()` ends its input; lvm exits after the command it
is running.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from types import TracebackType

from cohort.lvm.run import (
    CHILDREN,
    CommandError,
    CommandTimeout,
    FlightEntry,
    FlightRecorder,
    command_env,
    reap_later,
)
from cohort.lvm.shell import PROFILE_NAME, Outcome, check_command, status_of

#: Guard against a runaway output that never completes a JSON document.
MAX_PENDING = 1 << 22


class LvmSession:
    """`with LvmSession(...) as s: s.command([...])`; see the module docstring."""

    def __init__(
        self,
        recorder: FlightRecorder,
        *,
        program: Sequence[str] = ("lvm",),
        profile: str = PROFILE_NAME,
        timeout: float = 120.0,
    ) -> None:
        self.recorder = recorder
        self.lvm = program[0]
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the session
        env = command_env({"LVM_REPORT_FD": "1", "LVM_COMMAND_PROFILE": profile})
        self._proc = subprocess.Popen(  # noqa: S603 - argv list, no shell, by design
            list(program),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        CHILDREN.add(self._proc)
        self._pending = b""
        self._decoder = json.JSONDecoder()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def __enter__(self) -> LvmSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def command(self, argv: Sequence[str], timeout: float | None = None) -> Outcome:
        """Run one command; raise CommandError if lvm reports it failed or died."""
        line = check_command(argv)
        started, wall = time.monotonic(), time.time()
        full = (self.lvm, *argv)
        stdin = self._proc.stdin
        if stdin is None:
            raise CommandError(full, -1, "lvm session has no input")
        try:
            stdin.write(line.encode() + b"\n")
            stdin.flush()
        except OSError as exc:
            raise CommandError(full, -1, f"lvm session ended: {exc}") from exc
        limit = started + (self.timeout if timeout is None else timeout)
        while True:
            doc = self._next_document()
            if doc is not None:
                code = status_of(doc)
                if code is None:
                    continue  # a report of the command itself; its status follows
                outcome = Outcome(tuple(argv), code, doc)
                self._record(full, code, started, wall)
                if not outcome.ok:
                    raise CommandError(full, code, self._stderr_tail())
                return outcome
            remaining = limit - time.monotonic()
            if remaining <= 0:
                self._record(full, -1, started, wall)
                raise CommandTimeout(full, self.timeout if timeout is None else timeout)
            if not self._read(remaining):
                self._record(full, -1, started, wall)
                raise CommandError(full, -1, "lvm exited: " + self._stderr_tail())

    def close(self, wait: float = 30.0) -> int | None:
        """End the input; wait up to `wait` s for lvm to exit. Returns its exit code, or None
        while it still runs (it is left to finish its command, never killed)."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            code = self._proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            reap_later(self._proc)
            return None
        CHILDREN.discard(self._proc)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()
        return code

    # -- internals ------------------------------------------------------------------------
    def _next_document(self) -> Mapping[str, object] | None:
        start = self._pending.find(b"{")
        if start < 0:
            self._pending = b""
            return None
        text = self._pending[start:].decode(errors="replace")
        try:
            doc, end = self._decoder.raw_decode(text)
        except json.JSONDecodeError:
            if len(self._pending) > MAX_PENDING:
                raise CommandError((self.lvm,), -1, "lvm printed no complete JSON") from None
            return None  # incomplete: more output to come
        self._pending = text[end:].encode()
        return doc if isinstance(doc, dict) else {}

    def _read(self, timeout: float) -> bool:
        """Read what lvm wrote; False at end of output (lvm exited)."""
        stdout = self._proc.stdout
        if stdout is None:
            return False
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return True
        chunk = os.read(stdout.fileno(), 65536)
        if not chunk:
            return False
        self._pending += chunk
        return True

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace")[-400:].strip()
        except (OSError, ValueError):
            return ""

    def _record(self, argv: tuple[str, ...], code: int, started: float, wall: float) -> None:
        rc = 0 if code == 1 else code
        self.recorder.record(FlightEntry(argv, rc, time.monotonic() - started, "", wall))
