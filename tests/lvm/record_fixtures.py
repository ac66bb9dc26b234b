"""Record the parser fixtures (tests/lvm/fixtures) from a real lvm2, through cohort's own code.

In the guest (root, lvm2 2.03.16), on a throwaway VG on a loop file, an `LvmBackend` makes a
volume (1 MiB written), a snapshot of it and a clone of the snapshot; then cohort's own report
calls run through a runner that keeps every command's stdout, so each fixture is the output of
the exact argv cohort runs:

    vagrant/testbed up
    vagrant/testbed exec -- /opt/cohort/bin/python /src/tests/lvm/record_fixtures.py record \\
        > /tmp/fixtures.json
    vagrant/testbed down
    .venv/bin/python tests/lvm/record_fixtures.py unpack < /tmp/fixtures.json

`record` prints one JSON object {file name: content} on stdout; `unpack` writes it into
tests/lvm/fixtures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from cohort.domain.model import Snapshot, Volume
from cohort.lvm import hygiene
from cohort.lvm.backend import LvmBackend
from cohort.lvm.lvm import Lvm
from cohort.lvm.report import lvs_argv
from cohort.lvm.run import CommandRunner, Result
from cohort.lvm.shell import ShellBatchError, run_batch

FIXTURES = Path(__file__).parent / "fixtures"
VG = "vg0"
POOL = "pool"
MiB = 1024**2
VOLUME_ID = "0b1e1f7a-7d7e-4c55-9a59-3f4c2a000001"
SNAPSHOT_ID = "0b1e1f7a-7d7e-4c55-9a59-3f4c2a000002"
CLONE_ID = "0b1e1f7a-7d7e-4c55-9a59-3f4c2a000003"


class Keeping(CommandRunner):
    """A runner that keeps the stdout of the last command it ran."""

    last = ""

    def run(self, argv: Sequence[str], **options: Any) -> Result:
        result = super().run(argv, **options)
        self.last = result.stdout
        return result


def record() -> dict[str, str]:
    run = CommandRunner(timeout=120)
    keep = Keeping(timeout=120)
    local_conf = hygiene.LVM_DIR / "lvmlocal.conf"
    saved = local_conf.read_text() if local_conf.exists() else None
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        image = Path(tmp) / "pv.img"
        with open(image, "wb") as f:
            f.truncate(512 * MiB)
        loop = run.run(["losetup", "--find", "--show", "--", str(image)]).stdout.strip()
        try:
            hygiene.install(run, [loop])
            run.run(["lvm", "pvcreate", "--yes", "--", loop])
            run.run(["lvm", "vgcreate", "--", VG, loop])
            run.run(["lvm", "lvcreate", "--type", "thin-pool", "--size", "256m", "-n", POOL, VG])
            return _report(keep, run)
        finally:
            run.run(["lvm", "vgremove", "--yes", "--force", "--", VG], ok_codes=(0, 5))
            run.run(["losetup", "--detach", loop], ok_codes=(0, 1))
            if saved is None:
                local_conf.unlink(missing_ok=True)
            else:
                local_conf.write_text(saved)


def _report(keep: Keeping, run: CommandRunner) -> dict[str, str]:
    backend = LvmBackend(keep, VG, POOL, manage_lvm_config=False)
    backend.start()
    thin_pools = ["dmsetup", "status", "--target", "thin-pool"]
    out: dict[str, str] = {"dmsetup_status_unused_pool.txt": run.run(thin_pools).stdout}
    volume = Volume(id=VOLUME_ID, name="v", size_bytes=16 * MiB, volume_type_id="t")
    path = backend.create_volume(volume).device_path
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, os.urandom(MiB), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    snapshot = Snapshot(id=SNAPSHOT_ID, name="s", volume_id=VOLUME_ID, size_bytes=16 * MiB)
    backend.create_snapshot(snapshot, volume)
    clone = Volume(id=CLONE_ID, name="c", size_bytes=32 * MiB, volume_type_id="t")
    backend.create_volume_from_snapshot(clone, snapshot)
    lvm = backend.lvm
    out["lvm_version.txt"] = run.run(["lvm", "version"]).stdout
    out["dmsetup_status_thin_pool.txt"] = run.run(thin_pools).stdout

    def kept(name: str) -> None:
        out[name] = keep.last

    lvm.lvs()
    kept("lvs_vg.json")
    lvm.lv(f"volume-{CLONE_ID}")
    kept("lvs_select.json")
    lvm.lv("volume-absent")
    kept("lvs_select_absent.json")
    lvm.vg_info()
    kept("vgs.json")
    Lvm(keep, "vgabsent", POOL).vg_exists()
    kept("vgs_select_absent.json")
    backend._vg_pvs()
    kept("pvs.json")
    lvm.transaction_id()
    kept("lvs_transaction_id.json")
    again = lvm.snapshot_argv(
        f"_snapshot-{CLONE_ID}", f"volume-{CLONE_ID}", CLONE_ID, writable=False, fast=True
    )
    try:
        run_batch(keep, [lvs_argv(VG)[1:], again, again])
    except ShellBatchError:
        kept("shell_report_stream.txt")
    else:
        raise AssertionError("the second identical lvcreate in the batch should have failed")
    for v in (clone, volume):
        backend.delete_volume(v)
    backend.delete_snapshot(snapshot)
    return out


def unpack(bundle: Mapping[str, str]) -> None:
    for name, text in bundle.items():
        if name == "lvm_version.txt":
            print(text, end="")
            continue
        (FIXTURES / name).write_text(text)
        print(f"wrote {FIXTURES / name}")


def main(argv: Sequence[str]) -> None:
    if list(argv) == ["record"]:
        # cohort's log lines go to stderr: stdout carries the bundle alone
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
        json.dump(record(), sys.stdout, indent=1)
    elif list(argv) == ["unpack"]:
        unpack(json.load(sys.stdin))
    else:
        sys.exit(f"usage: {Path(__file__).name} record|unpack")


if __name__ == "__main__":
    main(sys.argv[1:])
