"""An in-process `cohort-guard` on a temporary unix socket, resuming through a recorder."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cohort.errors import BackendError
from cohort.freeze import wire
from cohort.freeze.guard import Guard, GuardServer
from cohort.lvm.errors import ObjectNotFound

#: Generous: waits end as soon as the event happens; this bounds a broken guard only.
WAIT = 20.0


class Resumes:
    """A fake resume(uuid): records each call; `missing` gates raise ObjectNotFound, `failing`
    ones BackendError."""

    def __init__(
        self, missing: frozenset[str] = frozenset(), failing: frozenset[str] = frozenset()
    ) -> None:
        self.uuids: list[str] = []
        self._missing = missing
        self._failing = failing
        self._cond = threading.Condition()

    def __call__(self, uuid: str) -> None:
        with self._cond:
            self.uuids.append(uuid)
            self._cond.notify_all()
        if uuid in self._missing:
            raise ObjectNotFound(f"no gate {uuid}")
        if uuid in self._failing:
            raise BackendError(f"EIO on {uuid}")

    def wait_for(self, uuids: set[str], timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: uuids <= set(self.uuids), timeout)


def short_socket_dir() -> str:
    """AF_UNIX paths are limited to 108 bytes: a short directory, not pytest's tmp_path."""
    return tempfile.mkdtemp(prefix="guard-")


@contextmanager
def running_guard(resume: Resumes) -> Iterator[tuple[Guard, str]]:
    directory = short_socket_dir()
    path = str(Path(directory) / "g.sock")
    guard = Guard(resume)
    guard.start()
    server = GuardServer(path, guard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield guard, path
    finally:
        server.shutdown()
        server.server_close()
        guard.stop()
        shutil.rmtree(directory, ignore_errors=True)


class RawClient:
    """Speaks the wire format by hand, for malformed requests."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT)
        self.sock.connect(path)
        self.reader = wire.LineReader(self.sock)

    def ask(self, line: bytes) -> dict[str, object] | None:
        self.sock.sendall(line)
        answer = self.reader.readline()
        return None if answer is None else wire.decode(answer)

    def close(self) -> None:
        self.sock.close()


def gate(n: int | str) -> str:
    return f"COHORT-GATE-v{n}"


@contextmanager
def scripted_guard(answers: list[bytes]) -> Iterator[str]:
    """A socket that accepts one connection and answers its first requests with `answers`,
    then nothing (a wedged guard)."""
    directory = short_socket_dir()
    path = str(Path(directory) / "g.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            reader = wire.LineReader(conn)
            for answer in answers:
                if reader.readline() is None:
                    return
                conn.sendall(answer)
            done.wait(WAIT)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)
