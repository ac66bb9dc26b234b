"""cohortd.service's hardening still lets it drive LVM, device-mapper, loop devices and LIO:
sandbox_probe.py runs under a copy of the unit that differs only in what it starts."""

from __future__ import annotations

import re
from pathlib import Path

from .helpers import UNIT, sh, unit_property

PROBE = "cohort-sandbox-probe.service"


def probe_unit(unit_text: str) -> str:
    """The unit with the probe as a oneshot ExecStart; everything else (hardening,
    ExecStartPre=+ module loading, directories) unchanged."""
    dropped = ("Type=", "NotifyAccess=", "WatchdogSec=", "Restart=", "RestartSec=", "ExecStart=")
    lines = [line for line in unit_text.splitlines() if not line.startswith(dropped)]
    service = lines.index("[Service]")
    lines[service + 1 : service + 1] = [
        "Type=oneshot",
        "ExecStart=/opt/cohort/bin/python /src/tests/guest/sandbox_probe.py",
    ]
    return "\n".join(lines) + "\n"


def test_probe_unit_keeps_the_hardening() -> None:
    text = Path("/src/systemd/cohortd.service").read_text()
    probe = probe_unit(text)
    for setting in re.findall(r"^(?:Protect|Capability|System|Restrict|NoNew)\S+", text, re.M):
        assert setting in probe


def test_lvm_dm_loop_and_lio_work_inside_the_sandbox() -> None:
    unit = Path("/run/systemd/system") / PROBE
    unit.write_text(probe_unit(Path(f"/etc/systemd/system/{UNIT}").read_text()))
    sh("systemctl", "daemon-reload")
    try:
        started = sh("systemctl", "start", PROBE, check=False, timeout=300)
        log = sh("journalctl", "-u", PROBE, "-b", "--no-pager", "-o", "cat", check=False).stdout
        assert started.returncode == 0, log
        assert unit_property("Result", PROBE) == "success", log
        assert "all work" in log
    finally:
        unit.unlink()
        sh("systemctl", "daemon-reload")
