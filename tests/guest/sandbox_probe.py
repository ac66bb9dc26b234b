"""What cohortd does to the kernel, done once inside cohortd.service's sandbox.

Run by test_unit_sandbox.py as the ExecStart of a copy of the unit (same hardening): a thin LV,
a dm-linear gate on it suspended and resumed, a loop device, and an iSCSI export of the gate
through rtslib (LIO's configfs), all removed again. Exits non-zero at the first refusal.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

NAME = "sandbox-probe"
GATE = f"cohort-{NAME}"
IQN = "iqn.2016-01.test.cohort:sandbox-probe"


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def main() -> None:
    with ExitStack() as undo:
        run(
            "lvcreate", "-q", "--type", "thin", "-V", "16M", "--thinpool", "cohort/pool", "-n", NAME
        )
        undo.callback(run, "lvremove", "-q", "-y", f"cohort/{NAME}")
        lv = f"/dev/cohort/{NAME}"
        sectors = run("blockdev", "--getsz", lv)
        run("dmsetup", "create", GATE, "--table", f"0 {sectors} linear {lv} 0")
        undo.callback(run, "dmsetup", "remove", GATE)
        run("dmsetup", "suspend", GATE)
        run("dmsetup", "resume", GATE)

        backing = Path("/var/lib/cohort") / f"{NAME}.img"
        backing.write_bytes(b"\0" * (1 << 20))
        undo.callback(backing.unlink)
        loop = run("losetup", "--find", "--show", "--", str(backing))
        run("losetup", "--detach", loop)

        from rtslib_fb import LUN, TPG, BlockStorageObject, FabricModule, NetworkPortal, Target

        storage = BlockStorageObject(NAME, dev=f"/dev/mapper/{GATE}")
        undo.callback(storage.delete)
        target = Target(FabricModule("iscsi"), IQN)
        undo.callback(target.delete)
        tpg = TPG(target, 1)
        LUN(tpg, 0, storage)
        NetworkPortal(tpg, "127.0.0.1", 3260)
        tpg.enable = True
    print("sandbox probe: LVM, device-mapper, loop and LIO all work")


if __name__ == "__main__":
    main()
