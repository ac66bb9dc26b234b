"""Host-wide LVM hygiene: what LVM may scan on a storage host, and cohort's command profile.

Why (field notes): LVM blocks for ever (D state, unkillable) on a suspended device it scans,
and gates are suspended during a group freeze; and tenant PVs inside volumes (seen through
gates, LVs or iSCSI-attached LUNs) must never be activated on the host. So LVM gets an
**accept-only** `devices/global_filter`: the PVs cohort uses and the PVs the host's other VGs use,
then `r|.*|`. Gates (`/dev/mapper/cohort-gate-*`), every `/dev/dm-*` that is not such a PV, and
iSCSI disks are therefore rejected. (lvm2 accepts a device when *any* of its names matches an
accept pattern first, so a catch-all accept after a reject list would let `/dev/dm-N` aliases of
gates through: accept-only is the only safe shape.) Plus `devices/ignore_suspended_devices=1`.

Where: a block between cohort's markers in `/etc/lvm/lvmlocal.conf` (lvm2 reads it after
lvm.conf, and it is meant for host-local settings); the rest of the file is left as it is, and
the block is rewritten only when its content changes. The host's other PVs are read with `pvs`
(under the configuration in force) before writing, and PVs on gates, on LVs or on iSCSI
sessions are left out even if `pvs` lists them. A PV added to another VG later must be accepted
by re-running the installer (cohortd does at every start) after adding it with
`--config` or by hand.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import structlog

from cohort.errors import BackendError
from cohort.lvm import names
from cohort.lvm.report import parse_pvs, pvs_argv
from cohort.lvm.run import CommandError, Runner
from cohort.lvm.shell import PROFILE_NAME, PROFILE_TEXT

log = structlog.get_logger("cohort.lvm.hygiene")

BEGIN = "# BEGIN cohort (managed by cohortd: the LVM device filter; do not edit)"
END = "# END cohort"
LVM_DIR = Path("/etc/lvm")
_REGEX_SPECIAL = set(".+*?[](){}^$\\")


def _regex_literal(path: str) -> str:
    if any(c in path for c in '|"\n') or not path.startswith("/"):
        raise BackendError(f"device path cannot go into an LVM filter: {path!r}")
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in path)


def filter_patterns(devices: Iterable[str]) -> list[str]:
    accepts = [f"a|^{_regex_literal(d)}$|" for d in sorted(set(devices))]
    return [*accepts, "r|.*|"]


def render_block(devices: Iterable[str]) -> str:
    patterns = ", ".join(f'"{p}"' for p in filter_patterns(devices))
    return (
        f"{BEGIN}\n"
        "devices {\n"
        f"\tglobal_filter = [ {patterns} ]\n"
        "\tignore_suspended_devices = 1\n"
        "}\n"
        f"{END}\n"
    )


def merge_block(current: str, block: str) -> str:
    """`current` with cohort's block replaced (or appended)."""
    start = current.find(BEGIN)
    if start >= 0:
        end = current.find(END, start)
        if end < 0:
            raise BackendError("lvmlocal.conf has cohort's BEGIN marker but no END marker")
        end = current.find("\n", end)
        end = len(current) if end < 0 else end + 1
        return current[:start] + block + current[end:]
    sep = "" if not current or current.endswith("\n") else "\n"
    return current + sep + ("\n" if current else "") + block


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _sys_block(dev: str) -> Path | None:
    try:
        real = os.path.realpath(dev)
    except OSError:
        return None
    base = Path("/sys/class/block") / os.path.basename(real)
    return base if base.exists() else None


def excluded(dev: str) -> bool:
    """A gate, a snapshot's read-only device, an LV (a tenant PV inside a volume), or a disk
    on an iSCSI session."""
    if os.path.basename(dev).startswith((names.GATE_PREFIX, names.SNAPSHOT_DEVICE_PREFIX)):
        return True
    sys_dir = _sys_block(dev)
    if sys_dir is None:
        return False
    try:
        uuid = (sys_dir / "dm" / "uuid").read_text().strip()
    except OSError:
        uuid = ""
    if uuid.startswith((names.GATE_UUID_PREFIX, names.SNAPSHOT_DEVICE_UUID_PREFIX, "LVM-")):
        return True
    try:
        device = os.path.realpath(sys_dir / "device")
    except OSError:
        return False
    return "/session" in device


def host_pvs(runner: Runner) -> list[str]:
    """PVs LVM sees now (under the filter in force), minus those that must not be scanned."""
    try:
        out = runner.run(pvs_argv()).stdout
    except CommandError as err:
        raise BackendError(f"cannot list the host's PVs: {err}") from err
    return [pv.name for pv in parse_pvs(out) if not excluded(pv.name)]


def install(
    runner: Runner,
    cohort_pvs: Sequence[str],
    *,
    lvm_dir: Path = LVM_DIR,
    other_pvs: Sequence[str] | None = None,
) -> bool:
    """Install (idempotently) the filter block and cohort's command profile. True if changed."""
    others = host_pvs(runner) if other_pvs is None else list(other_pvs)
    devices = sorted({*cohort_pvs, *others})
    conf = lvm_dir / "lvmlocal.conf"
    try:
        current = conf.read_text()
    except FileNotFoundError:
        current = ""
    changed = _write_if_changed(conf, merge_block(current, render_block(devices)))
    changed |= _write_if_changed(lvm_dir / "profile" / f"{PROFILE_NAME}.profile", PROFILE_TEXT)
    if changed:
        log.info("lvm hygiene installed", accepted=devices, path=str(conf))
    return changed
