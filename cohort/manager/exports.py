"""Exports: volumes and snapshots reached over iSCSI (cohort.domain.exports for the records).

Each call follows the concurrency model (cohort.manager.reservations): it plans under the
mutation lock, holding the exported object EXCLUSIVE (so an export conflicts with the object's
delete, its extend, and a freeze of its group, which holds it SHARED), writes its access rows in
a transitional state, changes the kernel's target with no lock held, then settles the rows. The
kernel's target is always made from the store (`_converge`): what a failed or interrupted call
left is put right by converging again, at once or when cohortd starts (`restore_exports`).

A volume is `in-use` while any initiator may reach it, `available` again when the last goes.
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from cohort.domain import validation
from cohort.domain.exports import (
    LUN,
    Access,
    AccessState,
    AclSpec,
    Connector,
    Credentials,
    Export,
    ExportKind,
    TargetSpec,
)
from cohort.domain.model import Snapshot, SnapshotStatus, Volume, VolumeStatus, new_id
from cohort.domain.store import Page, Transaction
from cohort.errors import BackendError, FailedPrecondition, InvalidArgument, NotFound
from cohort.manager.members import patch
from cohort.manager.reservations import Mode, Ticket
from cohort.manager.volumes import USABLE, VolumesMixin, describe

log = structlog.get_logger(__name__)

#: Longest attachment id accepted (Cinder's are UUIDs).
ATTACHMENT_ID_MAX = 255


def check_connector(connector: Connector | None, *, required: bool) -> Connector | None:
    if connector is None:
        if required:
            raise InvalidArgument("connector is required (its initiator at least)")
        return None
    validation.iscsi_name(connector.initiator, "connector.initiator")
    validation.description(connector.host, "connector.host", validation.NAME_MAX)
    validation.description(connector.ip, "connector.ip", 64)
    return connector


class ExportsMixin(VolumesMixin):
    # -- export ------------------------------------------------------------------------------
    def export_volume(
        self, volume_id: str, connector: Connector | None, attachment_id: str = ""
    ) -> dict[str, Any]:
        """The connection info ({"driver_volume_type": "iscsi", "data": {...}})."""
        return self._export(ExportKind.VOLUME, volume_id, connector, attachment_id)

    def export_snapshot(
        self, snapshot_id: str, connector: Connector | None, attachment_id: str = ""
    ) -> dict[str, Any]:
        return self._export(ExportKind.SNAPSHOT, snapshot_id, connector, attachment_id)

    def _export(
        self, kind: ExportKind, object_id: str, connector: Connector | None, attachment_id: str
    ) -> dict[str, Any]:
        validation.object_id(object_id, f"{kind.value}_id")
        conn = check_connector(connector, required=True)
        assert conn is not None
        validation.description(attachment_id, "attachment_id", ATTACHMENT_ID_MAX)
        operation = "ExportVolume" if kind is ExportKind.VOLUME else "ExportSnapshot"
        portals = self._portals()
        with self.reserve(operation) as ticket:
            with self.mutation() as tx:
                obj = self._exportable(tx, ticket, kind, object_id)
                export = self._export_row(tx, kind, obj.id)
                access, credentials, added = self._access_row(tx, export, conn, attachment_id)
                if isinstance(obj, Volume) and obj.status is VolumeStatus.AVAILABLE:
                    patch(tx.volumes, obj, status=VolumeStatus.IN_USE)
            try:
                self._converge(obj)
            except Exception as exc:
                gone = self._undo_export(obj, access, attachment_id) if added else False
                self._reconverge(obj, "export")
                if gone:
                    self._after_last_access(obj)
                raise self.failure(exc, f"export {describe(obj)}: {exc}") from exc
            if access.state is not AccessState.ACTIVE:
                with self.mutation() as tx:
                    tx.accesses.patch(access.id, state=AccessState.ACTIVE)
        log.info(
            "exported", object=describe(obj), initiator=conn.initiator, target=export.target_iqn
        )
        self.notify()
        return self._connection_info(export, credentials, portals)

    def _exportable(
        self, tx: Transaction, ticket: Ticket, kind: ExportKind, object_id: str
    ) -> Volume | Snapshot:
        if kind is ExportKind.VOLUME:
            volume = self.volume(tx, object_id)
            ticket.hold("volume", volume.id, Mode.EXCLUSIVE)
            if volume.status not in USABLE:
                raise FailedPrecondition(
                    f"{describe(volume)} is {volume.status}, not available or in-use"
                )
            return volume
        snap = self.snapshot(tx, object_id)
        ticket.hold("snapshot", snap.id, Mode.EXCLUSIVE)
        if snap.status is not SnapshotStatus.AVAILABLE:
            raise FailedPrecondition(f"{describe(snap)} is {snap.status}, not available")
        return snap

    def _export_row(self, tx: Transaction, kind: ExportKind, object_id: str) -> Export:
        found = tx.exports.find(object_id=object_id)
        if found:
            return found[0]
        export = Export(
            object_id=object_id,
            kind=kind,
            target_iqn=self.exports.target_iqn(kind, object_id),
            serial=new_id(),
        )
        tx.exports.add(export)
        return export

    def _access_row(
        self, tx: Transaction, export: Export, conn: Connector, attachment_id: str
    ) -> tuple[Access, Credentials, bool]:
        """The initiator's access (new, with new credentials, or the one it has: the same
        credentials every time), with this attachment counted; and whether this call added
        anything (a new access, or an attachment the access did not count yet)."""
        found = tx.accesses.find(export_id=export.id, initiator=conn.initiator)
        if found:
            access = found[0]
            if access.state is AccessState.REMOVING:
                raise FailedPrecondition(
                    f"the access of {conn.initiator} to {export.object_id} is being removed"
                )
            added = attachment_id not in access.attachments
            if added:
                access.attachments.append(attachment_id)
            tx.accesses.patch(
                access.id,
                attachments=access.attachments,
                host=conn.host,
                ip=conn.ip,
                multipath=conn.multipath,
            )
            return access, self._credentials(access), added
        credentials = self.exports.new_credentials()
        access = Access(
            export_id=export.id,
            initiator=conn.initiator,
            chap_username=credentials.username,
            chap_secret_sealed="",
            host=conn.host,
            ip=conn.ip,
            multipath=conn.multipath,
            attachments=[attachment_id],
        )
        access.chap_secret_sealed = self.exports.sealer.seal(credentials.password, access.id)
        tx.accesses.add(access)
        return access, credentials, True

    def _credentials(self, access: Access) -> Credentials:
        try:
            password = self.exports.sealer.unseal(access.chap_secret_sealed, access.id)
        except ValueError as exc:  # the key file is not the one the secret was sealed with
            raise BackendError(
                f"the CHAP secret of {access.initiator} cannot be unsealed: {exc}"
            ) from None
        return Credentials(access.chap_username, password)

    def _undo_export(self, obj: Volume | Snapshot, access: Access, attachment_id: str) -> bool:
        """Take back what a failed export added to the store: its new access, or the attachment
        it counted on an access that was there before (which stays, as it was). True when the
        export itself went (no access left)."""
        with self.mutation() as tx:
            current = tx.accesses.get(access.id)
            if current is not None:
                rest = [a for a in current.attachments if a != attachment_id]
                if current.state is AccessState.ADDING or not rest:
                    tx.accesses.remove(current.id)
                else:
                    tx.accesses.patch(current.id, attachments=rest)
            return self._drop_unused_export(tx, obj.id)

    def _reconverge(self, obj: Volume | Snapshot, what: str) -> None:
        """After a failed change of the target: make it what the store says again (a failed
        publish may have changed part of it)."""
        try:
            self._converge(obj)
        except Exception as exc:  # the target is put right at the next start
            log.error("target not restored after a failed change", change=what, error=str(exc))

    # -- unexport ----------------------------------------------------------------------------
    def unexport(
        self, object_id: str, connector: Connector | None, attachment_id: str = ""
    ) -> tuple[list[str], bool]:
        """(initiators whose access went, whether the target went)."""
        validation.object_id(object_id, "object_id")
        conn = check_connector(connector, required=False)
        validation.description(attachment_id, "attachment_id", ATTACHMENT_ID_MAX)
        if attachment_id and conn is None:
            raise InvalidArgument("attachment_id needs the connector it belongs to")
        with self.reserve("Unexport") as ticket:
            with self.mutation() as tx:
                export = self._exported(tx, object_id)
                obj = self._exported_object(tx, ticket, export)
                going = self._plan_removal(tx, export, conn, attachment_id)
                gone = [a.initiator for a in going]
            if not going:
                log.info("attachment removed", object=object_id, attachment=attachment_id)
                return [], False
            try:
                self._converge(obj)
            except Exception as exc:
                with self.mutation() as tx:
                    for access in going:
                        tx.accesses.patch(access.id, state=AccessState.ACTIVE)
                self._reconverge(obj, "unexport")
                raise self.failure(exc, f"unexport {object_id}: {exc}") from exc
            with self.mutation() as tx:
                for access in going:
                    tx.accesses.remove(access.id)
                target_gone = self._drop_unused_export(tx, obj.id)
            if target_gone:
                self._after_last_access(obj)
        log.info("unexported", object=object_id, initiators=gone, target_removed=target_gone)
        self.notify()
        return gone, target_gone

    def _exported(self, tx: Transaction, object_id: str) -> Export:
        found = tx.exports.find(object_id=object_id)
        if not found:
            raise NotFound(f"{object_id} is not exported")
        return found[0]

    def _exported_object(
        self, tx: Transaction, ticket: Ticket, export: Export
    ) -> Volume | Snapshot:
        if export.kind is ExportKind.VOLUME:
            volume = self.volume(tx, export.object_id)
            ticket.hold("volume", volume.id, Mode.EXCLUSIVE)
            return volume
        snap = self.snapshot(tx, export.object_id)
        ticket.hold("snapshot", snap.id, Mode.EXCLUSIVE)
        return snap

    def _plan_removal(
        self, tx: Transaction, export: Export, conn: Connector | None, attachment_id: str
    ) -> list[Access]:
        """The accesses that go (marked `removing`); an attachment that leaves others behind is
        only uncounted."""
        accesses = tx.accesses.find(export_id=export.id, exclude={"state": AccessState.REMOVING})
        if conn is not None:
            accesses = [a for a in accesses if a.initiator == conn.initiator]
            if not accesses:
                raise NotFound(f"{export.object_id} is not exported to {conn.initiator}")
        if attachment_id:
            access = accesses[0]
            if attachment_id not in access.attachments:
                raise NotFound(
                    f"{export.object_id} has no attachment {attachment_id} of {access.initiator}"
                )
            rest = [a for a in access.attachments if a != attachment_id]
            if rest:
                tx.accesses.patch(access.id, attachments=rest)
                return []
        for access in accesses:
            tx.accesses.patch(access.id, state=AccessState.REMOVING)
        return accesses

    def _drop_unused_export(self, tx: Transaction, object_id: str) -> bool:
        """Remove the export of an object no initiator may reach any more, and set a volume
        `available` again; True if it went."""
        found = tx.exports.find(object_id=object_id)
        if not found:
            return True
        export = found[0]
        if tx.accesses.count(export_id=export.id):
            return False
        tx.exports.remove(export.id)
        volume = tx.volumes.get(object_id)
        if volume is not None and volume.status is VolumeStatus.IN_USE:
            patch(tx.volumes, volume, status=VolumeStatus.AVAILABLE)
        return True

    def _after_last_access(self, obj: Volume | Snapshot) -> None:
        if isinstance(obj, Snapshot):
            try:
                self.backend.release_snapshot_device(obj)
            except BackendError as exc:  # the snapshot's delete removes it anyway
                log.warning("snapshot device not released", object=describe(obj), error=str(exc))

    # -- the target, made from the store -----------------------------------------------------
    def _converge(self, obj: Volume | Snapshot) -> None:
        """Make the object's target what the store says: its accesses that are not going, or
        no target at all when there are none."""
        kind = ExportKind.VOLUME if isinstance(obj, Volume) else ExportKind.SNAPSHOT
        with self.reading() as tx:
            found = tx.exports.find(object_id=obj.id)
            export = found[0] if found else None
            accesses = (
                tx.accesses.find(export_id=export.id, exclude={"state": AccessState.REMOVING})
                if export
                else []
            )
            current = tx.volumes.get(obj.id) if kind is ExportKind.VOLUME else None
        iqn = self.exports.target_iqn(kind, obj.id)
        if export is None or not accesses:
            self.exports.targets.withdraw(iqn)
            return
        if isinstance(obj, Snapshot):
            device = self.backend.snapshot_device(obj)
        else:
            device = current.device_path if current else obj.device_path
        acls = tuple(AclSpec(a.initiator, self._credentials(a)) for a in accesses)
        self.exports.targets.publish(
            TargetSpec(export.target_iqn, device, export.serial, export.read_only, acls)
        )

    def _portals(self) -> list[str]:
        """The portals a connection info names; none is FAILED_PRECONDITION, before anything
        is exported (an export whose credentials were never answered would be left behind)."""
        portals = [str(p) for p in self.exports.targets.portals()]
        if not portals:
            raise FailedPrecondition("no iSCSI portal: configure [exports] portals or interfaces")
        return portals

    def _connection_info(
        self, export: Export, credentials: Credentials, portals: list[str]
    ) -> dict[str, Any]:
        """os-brick's iSCSI connection properties, wrapped as Cinder returns them."""
        data: dict[str, Any] = {
            "target_discovered": False,
            "target_portal": portals[0],
            "target_iqn": export.target_iqn,
            "target_lun": LUN,
            "auth_method": "CHAP",
            "auth_username": credentials.username,
            "auth_password": credentials.password,
            "access_mode": "ro" if export.read_only else "rw",
            "volume_id": export.object_id,
            "encrypted": False,
            "discard": not export.read_only,
        }
        if len(portals) > 1:
            data["target_portals"] = portals
            data["target_iqns"] = [export.target_iqn] * len(portals)
            data["target_luns"] = [LUN] * len(portals)
        return {"driver_volume_type": "iscsi", "data": data}

    # -- reads -------------------------------------------------------------------------------
    def list_exports(
        self, page_size: int, page_token: str, object_id: str = "", initiator: str = ""
    ) -> Page[tuple[Export, list[Access]]]:
        if object_id:
            validation.object_id(object_id, "object_id")
        if initiator:
            validation.iscsi_name(initiator, "initiator")
        with self.reading() as tx:
            page = self.paged(tx.exports, page_size, page_token, object_id=object_id or None)
            if initiator:
                ids = {a.export_id for a in tx.accesses.find(initiator=initiator)}
                page = Page([e for e in page.items if e.id in ids], page.next_page_token)
            return Page(
                [(e, tx.accesses.find(export_id=e.id)) for e in page.items], page.next_page_token
            )


def connection_json(info: dict[str, Any]) -> str:
    return json.dumps(info, sort_keys=True)
