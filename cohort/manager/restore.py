"""Start-up: the store's crash leftovers resolved, then the kernel's targets restored from it.

cohortd starts in one order (cohort.daemon.runtime): the backend first (suspended gates and LVs
resumed, the pool checked, every volume's gate made), then `recover` (the journal and the
transitional statuses resolved, the store reconciled with the backend), then `restore_exports`
(the targets), and only then the gRPC server. Restoring the targets after the gates is what
makes it safe: a target's LUN is a gate, which must exist (and not be suspended) first.

`restore_exports`:
1. Access rows a crash left `adding` are dropped (their export never answered), `removing` ones
   finished; an export with no access left goes, its target withdrawn (the crash may have come
   after the target was made, or before it was removed), and a volume's `in-use` status follows.
2. Every stored export is published: a missing target is made again with the same IQN, LUN
   serial and credentials; a present one is converged (ACLs added or removed to match).
3. Targets with cohort's prefix that the store does not know are reported and disabled, never
   deleted (they may be an operator's, or a newer cohort's); every other target is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from cohort.domain.exports import AccessState, Export, ExportKind
from cohort.domain.model import Snapshot, Volume, VolumeStatus
from cohort.manager.exports import ExportsMixin
from cohort.manager.members import patch
from cohort.manager.recovery import RecoveryMixin

log = structlog.get_logger(__name__)

#: An export with its object; None: the store lost the object.
Kept = tuple[Export, Volume | Snapshot]
Dropped = tuple[Export, Volume | Snapshot | None]


@dataclass(slots=True)
class Restored:
    """What a restore did, for the log and for tests."""

    published: list[str] = field(default_factory=list)
    #: Targets of exports that a crash left without an access.
    withdrawn: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)


class RestoreMixin(ExportsMixin, RecoveryMixin):
    def restore_exports(self) -> Restored:
        done = Restored()
        exports, dropped = self._settle_accesses()
        for export, gone in dropped:
            self._withdraw_dropped(export, gone, done)
        for export, obj in exports:
            try:
                self._converge(obj)
            except Exception as exc:  # one broken export must not keep the others down
                log.error("export not restored", target=export.target_iqn, error=str(exc))
                done.failed[export.target_iqn] = str(exc)
            else:
                done.published.append(export.target_iqn)
        known = {export.target_iqn for export, _ in exports}
        for iqn in self.exports.targets.present():
            if iqn not in known:
                log.warning("target with cohort's prefix not in the store; disabled", target=iqn)
                self.exports.targets.disable(iqn)
                done.disabled.append(iqn)
        log.info(
            "exports restored",
            published=len(done.published),
            withdrawn=len(done.withdrawn),
            failed=len(done.failed),
            disabled=len(done.disabled),
        )
        return done

    def _withdraw_dropped(
        self, export: Export, obj: Volume | Snapshot | None, done: Restored
    ) -> None:
        try:
            self.exports.targets.withdraw(export.target_iqn)
        except Exception as exc:
            log.error(
                "target of a dropped export not withdrawn", target=export.target_iqn, error=str(exc)
            )
            done.failed[export.target_iqn] = str(exc)
            return
        done.withdrawn.append(export.target_iqn)
        if obj is not None:
            self._after_last_access(obj)

    def _settle_accesses(self) -> tuple[list[Kept], list[Dropped]]:
        """Step 1: the exports left, each with its object; and the exports dropped, each with
        its object (None: the store lost it)."""
        left: list[Kept] = []
        dropped: list[Dropped] = []
        with self.mutation() as tx:
            for access in tx.accesses.find(exclude={"state": AccessState.ACTIVE}):
                log.warning(
                    "interrupted export change resolved",
                    object=access.export_id,
                    initiator=access.initiator,
                    state=access.state.value,
                )
                tx.accesses.remove(access.id)
            for export in tx.exports.find():
                obj: Volume | Snapshot | None = (
                    tx.volumes.get(export.object_id)
                    if export.kind is ExportKind.VOLUME
                    else tx.snapshots.get(export.object_id)
                )
                if obj is None:
                    log.error("export of an object the store lost; dropped", id=export.object_id)
                    for access in tx.accesses.find(export_id=export.id):
                        tx.accesses.remove(access.id)
                    tx.exports.remove(export.id)
                    dropped.append((export, None))
                    continue
                if self._drop_unused_export(tx, export.object_id):
                    dropped.append((export, obj))
                    continue
                if isinstance(obj, Volume) and obj.status is VolumeStatus.AVAILABLE:
                    patch(tx.volumes, obj, status=VolumeStatus.IN_USE)
                left.append((export, obj))
            for volume in tx.volumes.find(status=VolumeStatus.IN_USE):
                if not tx.exports.count(object_id=volume.id):
                    patch(tx.volumes, volume, status=VolumeStatus.AVAILABLE)
        return left, dropped
