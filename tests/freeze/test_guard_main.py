"""`cohort-guard` as a process: READY=1 once it serves; SIGTERM fires what is armed, then exits."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from cohort.freeze.guard_client import GuardClient

from .guard_server import WAIT, short_socket_dir


def test_serves_notifies_ready_and_fires_armed_freezes_on_sigterm() -> None:
    directory = short_socket_dir()
    path, notify = str(Path(directory) / "g.sock"), str(Path(directory) / "notify")
    ready = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ready.bind(notify)
    ready.settimeout(WAIT * 3)  # importing under load
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cohort.freeze.guard import main; sys.exit(main())",
         "--socket", path],
        env={**os.environ, "NOTIFY_SOCKET": notify},
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert ready.recv(64) == b"READY=1"
        armed = GuardClient(path).arm("f1", ["v1"], 600)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0
        assert armed.disarm() is False and armed.reason == "lost"
        fired = [json.loads(line) for line in err.splitlines() if "freeze guard fired" in line]
        assert [(f["freeze"], f["reason"], f["gates"]) for f in fired] == [
            ("f1", "guard-stopping", ["COHORT-GATE-v1"])
        ]
        # No device-mapper on this host: the resume fails, is logged, and the guard goes on.
        assert "COHORT-GATE-v1" in fired[0]["failed"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        ready.close()
        shutil.rmtree(directory, ignore_errors=True)
