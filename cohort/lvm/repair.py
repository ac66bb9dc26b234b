"""Start-up repair: what a dead freeze or a killed `lvm` child left suspended is resumed before
cohortd uses anything, and the thin pool's transaction id is checked against LVM's metadata.

`LvmBackend.start` runs, in this order:

1. `resume_gates`, before anything else (before the journal is resolved and before any LVM
   command): a cohort gate left suspended by a freeze whose daemon died is resumed with
   `dmsetup resume`. The guard resumes gates at its deadline; this covers a guard that did not.
2. `resume_suspended_lvs`: an LV of the VG the kernel holds suspended (lv_attr state "s"), e.g.
   the thin origin of an `lvcreate -s` killed between its origin suspend and resume (each thin
   snapshot suspends its origin below the gate for a moment). It is resumed through LVM, with
   `lvchange --refresh`: in lvm2 2.03.16 a refresh is `suspend_lv` then `resume_lv`
   (tools/toollib.c `lv_refresh`, lib/metadata/lv_manip.c `_lv_refresh_suspend_resume`); the
   suspend of a device already suspended does nothing ("already suspended" in
   lib/activate/activate.c `_lv_suspend`) and the resume loads the LV's table from LVM's
   committed metadata and resumes it (`_lv_resume`). Thin-pool messages are added to a tree
   only for an origin-only suspend (lib/activate/dev_manager.c), so a refresh sends none.
3. `check_pool_transaction`: the kernel's transaction id (`dmsetup status` of the pool's
   `-tpool` device) against LVM's (`lvs -o transaction_id`). Equal: consistent. Kernel one
   behind: LVM committed metadata whose queued pool messages never reached the kernel (an
   `lvcreate` or `lvremove` killed between its metadata commit and its messages); lvm2 accepts
   exactly this state ("expecting N or lower by 1", lib/metadata/thin_manip.c) and sends the
   queued messages itself with its next thin LV create or remove in the pool (`update_pool_lv`).
   Anything else lvm2 refuses to work with and has no command to repair (lvmthin(7) documents
   none): cohort reports it and never sends pool messages itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import structlog

from cohort.lvm.dm import Gates
from cohort.lvm.errors import edge
from cohort.lvm.lvm import Lvm
from cohort.lvm.report import State

log = structlog.get_logger("cohort.lvm.repair")


class Transaction(StrEnum):
    CONSISTENT = "consistent"
    PENDING = "pending"
    """The kernel is one behind LVM: LVM's queued messages, which LVM itself sends later."""
    MISMATCH = "mismatch"
    INACTIVE = "inactive"
    """No active pool (or one the kernel failed): nothing to compare."""


@dataclass(frozen=True, slots=True)
class PoolTransaction:
    """The thin pool's transaction id in the kernel (None: not active or failed) and in LVM's
    metadata."""

    pool: str
    kernel: int | None
    metadata: int

    @property
    def state(self) -> Transaction:
        if self.kernel is None:
            return Transaction.INACTIVE
        if self.kernel == self.metadata:
            return Transaction.CONSISTENT
        if self.kernel + 1 == self.metadata:
            return Transaction.PENDING
        return Transaction.MISMATCH

    @property
    def problem(self) -> str | None:
        """What an operator must repair, None when LVM can go on by itself."""
        if self.state is not Transaction.MISMATCH:
            return None
        return (
            f"thin pool {self.pool}: kernel transaction id {self.kernel}, LVM metadata "
            f"{self.metadata}; LVM refuses changes to the pool until it is repaired by hand"
        )


def resume_gates(gates: Gates) -> list[str]:
    """Resume every suspended cohort gate; the ids of those resumed."""
    with edge("gates"):
        suspended = [g.volume_id for g in gates.list().values() if g.suspended]
        for volume_id in suspended:
            gates.resume(volume_id)
            log.warning("suspended gate resumed at start", volume_id=volume_id)
    return suspended


def resume_suspended_lvs(lvm: Lvm) -> list[str]:
    """Resume, through LVM, every LV of the VG the kernel holds suspended; their names."""
    with edge(f"volume group {lvm.vg}"):
        suspended = [lv.name for lv in lvm.lvs() if lv.attr.state is State.SUSPENDED]
        for name in suspended:
            lvm.refresh(name)
            log.warning("suspended LV resumed at start through LVM", lv=lvm.full(name))
    return suspended


def pool_transaction(lvm: Lvm, dmsetup: str = "dmsetup") -> PoolTransaction:
    """The pool's transaction id in the kernel and in LVM's metadata."""
    with edge(lvm.full(lvm.pool)):
        metadata = lvm.transaction_id()
        device = lvm.pool_lv().dm_path.removeprefix("/dev/mapper/")
        status = lvm.run.run([dmsetup, "status", "--target", "thin-pool"]).stdout
    return PoolTransaction(lvm.full(lvm.pool), kernel_transaction(status, device), metadata)


def kernel_transaction(status: str, device: str) -> int | None:
    """The transaction id of the pool whose LV's dm device is `device`, from `dmsetup status
    --target thin-pool` (lines "<name>: 0 <sectors> thin-pool <transaction id> ..."). lvm2
    2.03.16 runs a pool that has thin LVs as `<device>-tpool` (`<device>` is a linear layer
    above it) and an unused pool as `<device>` itself. None when neither is listed (the pool is
    not active) or the kernel failed the pool ("... thin-pool Fail")."""
    found: dict[str, list[str]] = {}
    for line in status.splitlines():
        name, _, rest = line.partition(": ")
        found[name] = rest.split()
    fields = found.get(device + "-tpool", found.get(device, []))
    if len(fields) < 4 or fields[2] != "thin-pool" or not fields[3].isdigit():
        return None
    return int(fields[3])


def check_pool_transaction(lvm: Lvm) -> str | None:
    """Log the pool's transaction state; the problem an operator must repair, or None."""
    tx = pool_transaction(lvm)
    fields = {"pool": tx.pool, "kernel": tx.kernel, "metadata": tx.metadata}
    if tx.state is Transaction.MISMATCH:
        log.error("thin pool transaction id differs from LVM's metadata", **fields)
    elif tx.state is Transaction.PENDING:
        log.warning(
            "thin pool has queued LVM messages; LVM sends them with its next change", **fields
        )
    elif tx.state is Transaction.INACTIVE:
        log.warning("thin pool not active: transaction id not checked", **fields)
    else:
        log.info("thin pool transaction id consistent", **fields)
    return tx.problem
