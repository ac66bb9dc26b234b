"""`cohort-guard`: the deadline guard, a daemon in a unit (and cgroup) of its own that resumes
every gate of a freeze at its deadline, or at once when cohortd's connection drops.

cohortd arms the guard before it suspends the first gate of a group and disarms it after the
last gate is resumed (wire format in `cohort.freeze.wire`). Arm, disarm and fire, for every
freeze, are decided under one lock, so a freeze ends exactly one way: disarmed (cohortd may
commit its image) or fired (the gates were resumed early, the image may be torn). Resuming the
gates happens outside that lock, but a new freeze over a gate that is still being resumed waits
for it, so a late resume never thaws the next freeze's gate. One thread per connection; one
timer thread; each deadline firing resumes its gates in a thread of its own, so one slow resume
delays no other freeze.

`cohort-guard --thaw-all` is the one-shot form for the units: it resumes every suspended cohort
gate on the host.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import socket
import socketserver
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from cohort.errors import CohortError
from cohort.freeze import wire
from cohort.lvm import names
from cohort.lvm.errors import ObjectNotFound

log = structlog.get_logger("cohort.guard")

#: The longest deadline accepted: a freeze is seconds; anything longer is a caller's bug.
MAX_DEADLINE = 600.0
#: How long an arm waits for a firing freeze to finish resuming a gate it wants.
THAW_WAIT = 30.0

Resume = Callable[[str], None]


class Refused(ValueError):
    """An arm the guard will not take (bad request, a gate armed by another freeze)."""


@dataclass(frozen=True, slots=True)
class Fired:
    reason: str
    after: float


@dataclass(eq=False, slots=True)
class Freeze:
    freeze_id: str
    gates: tuple[str, ...]
    deadline: float
    armed_at: float
    due: float
    fired: Fired | None = None
    settled: bool = False


class Guard:
    """The freezes armed on this host and their deadlines. `resume(uuid)` resumes one gate and
    raises ObjectNotFound when it does not exist."""

    def __init__(self, resume: Resume, clock: Callable[[], float] = time.monotonic) -> None:
        self._resume = resume
        self._clock = clock
        self._cond = threading.Condition()
        self._armed: list[Freeze] = []
        self._thawing: Counter[str] = Counter()
        self._stopped = False
        self._timer = threading.Thread(target=self._run_timer, name="guard-timer", daemon=True)

    def start(self) -> None:
        self._timer.start()

    def stop(self, reason: str = "guard-stopping") -> None:
        """Fire every armed freeze (resuming its gates before returning) and stop the timer."""
        with self._cond:
            self._stopped = True
            now = self._clock()
            firing = [(f, self._fire_locked(f, reason, now)) for f in list(self._armed)]
            self._cond.notify_all()
        for freeze, fired in firing:
            self._thaw(freeze, fired)
        if self._timer.is_alive():
            self._timer.join()

    def arm(self, freeze_id: str, gates: Sequence[str], deadline: float) -> Freeze:
        with self._cond:
            if self._stopped:
                raise Refused("guard is stopping")
            if not self._cond.wait_for(
                lambda: not any(self._thawing[g] for g in gates), timeout=THAW_WAIT
            ):
                raise Refused("gates still being resumed by a fired freeze")
            busy = [g for g in gates if any(g in f.gates for f in self._armed)]
            if busy:
                raise Refused(f"gates armed by another freeze: {', '.join(busy)}")
            now = self._clock()
            freeze = Freeze(freeze_id, tuple(gates), deadline, now, now + deadline)
            self._armed.append(freeze)
            self._cond.notify_all()
        log.info("freeze armed", freeze=freeze_id, gates=len(gates), deadline=deadline)
        return freeze

    def disarm(self, freeze: Freeze) -> Fired | None:
        """None: disarmed, the guard never fires for it; else how it fired."""
        with self._cond:
            if not freeze.settled:
                freeze.settled = True
                self._armed.remove(freeze)
                self._cond.notify_all()
                log.info(
                    "freeze disarmed",
                    freeze=freeze.freeze_id,
                    after=round(self._clock() - freeze.armed_at, 6),
                )
            return freeze.fired

    def fire(self, freeze: Freeze, reason: str) -> None:
        """Fire now (resuming in this thread) unless the freeze is settled already."""
        with self._cond:
            if freeze.settled:
                return
            fired = self._fire_locked(freeze, reason, self._clock())
        self._thaw(freeze, fired)

    def _fire_locked(self, freeze: Freeze, reason: str, now: float) -> Fired:
        freeze.settled = True
        freeze.fired = Fired(reason, now - freeze.armed_at)
        self._armed.remove(freeze)
        self._thawing.update(freeze.gates)
        return freeze.fired

    def _run_timer(self) -> None:
        with self._cond:
            while not self._stopped:
                now = self._clock()
                for freeze in [f for f in self._armed if f.due <= now]:
                    fired = self._fire_locked(freeze, "deadline", now)
                    threading.Thread(
                        target=self._thaw, args=(freeze, fired), name="guard-thaw", daemon=True
                    ).start()
                wait = min((f.due for f in self._armed), default=math.inf) - now
                self._cond.wait(None if wait == math.inf else max(wait, 0.0))

    def _thaw(self, freeze: Freeze, fired: Fired) -> None:
        started = self._clock()
        missing: list[str] = []
        failed: dict[str, str] = {}
        try:
            for uuid in freeze.gates:
                try:
                    self._resume(uuid)
                except ObjectNotFound:
                    missing.append(uuid)
                except (CohortError, OSError) as exc:
                    failed[uuid] = str(exc)
        finally:
            with self._cond:
                self._thawing.subtract(freeze.gates)
                for uuid in [g for g, n in self._thawing.items() if n <= 0]:
                    del self._thawing[uuid]
                self._cond.notify_all()
        log.warning(
            "freeze guard fired",
            freeze=freeze.freeze_id,
            reason=fired.reason,
            fired_after=round(fired.after, 6),
            gates=list(freeze.gates),
            missing=missing,
            failed=failed,
            resume_seconds=round(self._clock() - started, 6),
        )


def parse_arm(message: dict[str, Any]) -> tuple[str, list[str], float]:
    freeze_id, gates, deadline = (message.get(k) for k in ("freeze", "gates", "deadline"))
    if not isinstance(freeze_id, str) or not 0 < len(freeze_id) <= 200:
        raise Refused("freeze must be a non-empty string")
    if not isinstance(gates, list) or not gates or not all(_is_gate(g) for g in gates):
        raise Refused("gates must be a non-empty list of cohort gate UUIDs")
    if len(set(gates)) != len(gates):
        raise Refused("gates must not repeat")
    if isinstance(deadline, bool) or not isinstance(deadline, int | float):
        raise Refused("deadline must be a number of seconds")
    if not 0 < deadline <= MAX_DEADLINE:
        raise Refused(f"deadline must be in (0, {MAX_DEADLINE:g}] seconds")
    return freeze_id, gates, float(deadline)


def _is_gate(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith(names.GATE_UUID_PREFIX):
        return False
    try:
        names.check_id(value[len(names.GATE_UUID_PREFIX) :])
    except CohortError:
        return False
    return True


class Connection:
    """One client connection: at most one freeze armed at a time; fired if the peer leaves."""

    def __init__(self, guard: Guard, sock: socket.socket) -> None:
        self._guard = guard
        self._sock = sock
        self._freeze: Freeze | None = None

    def run(self) -> None:
        reader = wire.LineReader(self._sock)
        try:
            while True:
                try:
                    line = reader.readline()
                except wire.LineTooLong as exc:
                    self._send({"ok": False, "error": str(exc)})
                    return
                if line is None:
                    return
                self._send(self.answer(line))
        except OSError:
            return  # reset by the peer: the same as a close
        finally:
            if self._freeze is not None:
                self._guard.fire(self._freeze, "disconnect")

    def answer(self, line: bytes) -> dict[str, Any]:
        try:
            message = wire.decode(line)
        except ValueError as exc:
            return {"ok": False, "error": f"not a JSON object: {exc}"}
        op = message.get("op")
        if op == "arm":
            if self._freeze is not None:
                return {"ok": False, "error": "a freeze is armed on this connection already"}
            try:
                self._freeze = self._guard.arm(*parse_arm(message))
            except Refused as exc:
                return {"ok": False, "error": str(exc)}
            return {"ok": True}
        if op == "disarm":
            freeze = self._freeze
            if freeze is None or message.get("freeze") != freeze.freeze_id:
                return {"ok": False, "error": "no such freeze armed on this connection"}
            self._freeze = None
            fired = self._guard.disarm(freeze)
            if fired is None:
                return {"disarmed": True}
            return {"disarmed": False, "reason": fired.reason, "fired_after": fired.after}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def _send(self, reply: dict[str, Any]) -> None:
        self._sock.sendall(wire.encode(reply))


class _Handler(socketserver.BaseRequestHandler):
    server: GuardServer

    def handle(self) -> None:
        Connection(self.server.guard, self.request).run()


class GuardServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The guard's unix socket (mode 0600: root's cohortd only); one thread per connection."""

    daemon_threads = True
    #: cohortd arms many freezes at once; a full backlog fails a connect at once (EAGAIN).
    request_queue_size = 128

    def __init__(self, path: str, guard: Guard) -> None:
        self.guard = guard
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)  # left by a guard that was killed
        super().__init__(path, _Handler)
        os.chmod(path, 0o600)


def thaw_all(resume: Resume, suspended_gates: Callable[[], list[str]]) -> int:
    """Resume every suspended cohort gate; 0 when none is left suspended."""
    try:
        uuids = suspended_gates()
    except CohortError as exc:
        log.error("cannot list the gates", error=str(exc))
        return 1
    failed = {}
    for uuid in uuids:
        try:
            resume(uuid)
        except ObjectNotFound:
            continue
        except CohortError as exc:
            failed[uuid] = str(exc)
    log.info("thawed suspended gates", gates=uuids, failed=failed)
    return 1 if failed else 0


def _host_suspended_gates() -> list[str]:
    from cohort.lvm.dm import Gates
    from cohort.lvm.run import CommandRunner

    return [g.uuid for g in Gates(CommandRunner(timeout=30)).list().values() if g.suspended]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cohort-guard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", default=wire.DEFAULT_SOCKET, help="unix socket to serve")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--thaw-all", action="store_true", help="resume every suspended cohort gate and exit"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from cohort.daemon.logs import configure
    from cohort.daemon.sdnotify import Notifier
    from cohort.lvm.dmioctl import DmControl

    args = parse_args(argv)
    configure(args.log_level)
    control = DmControl()
    if args.thaw_all:
        return thaw_all(control.resume, _host_suspended_gates)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    guard = Guard(control.resume)
    guard.start()
    server = GuardServer(args.socket, guard)
    serving = threading.Thread(target=server.serve_forever, name="guard-accept", daemon=True)
    serving.start()
    notifier = Notifier()
    notifier.ready()
    log.info("cohort-guard serving", socket=args.socket)
    stop.wait()
    notifier.stopping()
    server.shutdown()
    server.server_close()
    guard.stop()
    log.info("cohort-guard stopped")
    return 0
