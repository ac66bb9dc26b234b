"""`LioTargets`: the `Targets` port on the kernel's iSCSI target (LIO), through rtslib-fb.

One target per export, its IQN the spec's: one TPG (tag 1) with LUN 0 on a block backstore
named after the target (what follows cohort's IQN prefix) on the spec's device, whose unit
serial is the spec's serial (LIO derives the NAA identifier of VPD page 0x83 from it, so
/dev/disk/by-id names stay the same as long as the serial does). The TPG enforces CHAP
(`authentication=1`) and has no demo mode: only initiators with a NodeACL log in, and LIO's
SendTargets answer lists a target only to initiators it has an ACL for. A read-only spec opens
the backstore read-only and write-protects every ACL's mapped LUN: a SCSI WRITE gets a DATA
PROTECT sense. Writable backstores advertise UNMAP (`emulate_tpu`), so a thin pool gets space
back.

rtslib's constructors create what they do not find unless given `mode='lookup'` (or, for
LUNs, mapped LUNs and storage objects, no creation argument): every lookup here is one. Calls
are serialised by a lock of this object: LIO's configfs is fast to write, and rtslib keeps
module-level state (its backstore index cache, dropped at each call so that a backstore removed
behind cohort's back is not taken for a present one).

Kernel modules: `target_core_mod`, `iscsi_target_mod` and `target_core_iblock`, and configfs
mounted; cohortd's unit loads them before start (cohortd itself may not load modules).
Secrets: CHAP passwords are written to configfs and never logged; error messages are scrubbed
of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import rtslib_fb
import structlog
from rtslib_fb import tcm
from rtslib_fb import utils as rtsutils

from cohort.domain.exports import LUN, AclSpec, Portal, TargetSpec
from cohort.errors import BackendError

log = structlog.get_logger("cohort.iscsi.lio")

TPG_TAG = 1
#: No demo mode, CHAP enforced, nothing cached for initiators without an ACL.
TPG_ATTRIBUTES = {
    "authentication": "1",
    "generate_node_acls": "0",
    "demo_mode_write_protect": "1",
    "cache_dynamic_acls": "0",
}
TPG_PARAMETERS = {"AuthMethod": "CHAP"}
#: The storage object attribute advertising UNMAP (Thin Provisioning Unmap) to initiators.
UNMAP_ATTRIBUTE = "emulate_tpu"
#: Longest backstore name kept (configfs allows more; targetcli's listings stay readable).
_NAME_MAX = 64
_LIO_ERRORS = (rtslib_fb.RTSLibError, OSError)


def not_in_configfs_error(utils: Any) -> type[Exception]:
    """rtslib's "no such object in configfs" error (of its `utils` module): RTSLibNotInCFSError
    since rtslib-fb 2.2, RTSLibNotInCFS before (Debian 12's python3-rtslib-fb is 2.1.74)."""
    found: type[Exception] = getattr(utils, "RTSLibNotInCFSError", None) or utils.RTSLibNotInCFS
    return found


_NOT_IN_CFS = not_in_configfs_error(rtsutils)


def backstore_name(prefix: str, iqn: str) -> str:
    """The block backstore of the target `iqn`: what follows `prefix`, separators trimmed,
    ':' made '.'. ValueError when `iqn` is not one of cohort's."""
    if not iqn.startswith(prefix) or len(iqn) == len(prefix):
        raise ValueError(f"{iqn!r} is not a target IQN with cohort's prefix {prefix!r}")
    name = iqn[len(prefix) :].lstrip(":.-").replace(":", ".")
    if not name or len(name) > _NAME_MAX or any(c in name for c in "/ \t\n"):
        raise ValueError(f"{iqn!r}: no backstore name of at most {_NAME_MAX} characters in it")
    return name


def portal_key(portal: Portal) -> tuple[str, int]:
    """A portal as rtslib names it: IPv6 addresses in brackets."""
    address = f"[{portal.address}]" if ":" in portal.address else portal.address
    return address, portal.port


class LioTargets:
    """See the module docstring. `portals` is called at every publish (a `PortalFinder`)."""

    def __init__(self, prefix: str, portals: Callable[[], Sequence[Portal]]) -> None:
        self.prefix = prefix
        self._portals = portals
        self._lock = threading.Lock()
        self._fabric: Any = None

    def portals(self) -> Sequence[Portal]:
        return self._portals()

    def publish(self, spec: TargetSpec) -> None:
        portals = list(self._portals())
        if not portals:
            raise BackendError(
                f"target {spec.iqn}: no portal (no configured address, no address on the"
                " configured interfaces)"
            )
        name = self._name(spec.iqn)
        with self._lio("publish", spec.iqn, spec.acls):
            changes: list[str] = []
            target = _lookup(rtslib_fb.Target, self._iscsi(), spec.iqn, mode="lookup")
            if target is None:
                target = rtslib_fb.Target(self._iscsi(), spec.iqn, mode="create")
                changes.append("target")
            tpg = _lookup(rtslib_fb.TPG, target, TPG_TAG, mode="lookup")
            if tpg is None:
                tpg = rtslib_fb.TPG(target, TPG_TAG, mode="create")
                changes.append("tpg")
            _converge_settings(tpg, changes)
            lun = _converge_lun(tpg, _converge_backstore(name, spec, tpg, changes), changes)
            _converge_acls(tpg, lun, spec, changes)
            _converge_portals(tpg, portals, changes)
            if not tpg.enable:
                tpg.enable = True
                changes.append("enabled")
        if changes:
            log.info("lio.published", iqn=spec.iqn, changed=changes)

    def withdraw(self, iqn: str) -> None:
        name = self._name(iqn)
        with self._lio("withdraw", iqn):
            target = _lookup(rtslib_fb.Target, self._iscsi(), iqn, mode="lookup")
            if target is not None:
                target.delete()
            backstore = _lookup(rtslib_fb.BlockStorageObject, name)
            if backstore is not None:
                backstore.delete()
        if target is not None or backstore is not None:
            log.info("lio.withdrawn", iqn=iqn)

    def present(self) -> Sequence[str]:
        with self._lio("list targets", self.prefix):
            return [t.wwn for t in self._iscsi().targets if t.wwn.startswith(self.prefix)]

    def disable(self, iqn: str) -> None:
        self._name(iqn)
        with self._lio("disable", iqn):
            target = _lookup(rtslib_fb.Target, self._iscsi(), iqn, mode="lookup")
            for tpg in target.tpgs if target is not None else ():
                tpg.enable = False
        log.info("lio.disabled", iqn=iqn, found=target is not None)

    def _name(self, iqn: str) -> str:
        try:
            return backstore_name(self.prefix, iqn)
        except ValueError as exc:
            raise BackendError(str(exc)) from None

    def _iscsi(self) -> Any:
        """The iSCSI fabric (RTSRoot mounts configfs and checks target_core_mod first)."""
        if self._fabric is None:
            rtslib_fb.RTSRoot()
            self._fabric = rtslib_fb.FabricModule("iscsi")
        return self._fabric

    @contextmanager
    def _lio(self, action: str, iqn: str, acls: Sequence[AclSpec] = ()) -> Iterator[None]:
        """Serialised; rtslib's and configfs's errors as BackendError, secrets scrubbed."""
        with self._lock:
            tcm.bs_cache.clear()
            try:
                yield
            except _LIO_ERRORS as exc:
                message = str(exc) or type(exc).__name__
                for acl in acls:
                    message = message.replace(acl.credentials.password, "<redacted>")
                raise BackendError(f"LIO: {action} of {iqn} failed: {message}") from None


def _lookup(cls: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """cls(*args, **kwargs) in a lookup mode, None when configfs has no such object."""
    try:
        return cls(*args, **kwargs)
    except _NOT_IN_CFS:
        return None


def _converge_settings(tpg: Any, changes: list[str]) -> None:
    for key, value in TPG_ATTRIBUTES.items():
        if tpg.get_attribute(key) != value:
            tpg.set_attribute(key, value)
            changes.append(f"attribute {key}")
    for key, value in TPG_PARAMETERS.items():
        if tpg.get_parameter(key) != value:
            tpg.set_parameter(key, value)
            changes.append(f"parameter {key}")


def _converge_backstore(name: str, spec: TargetSpec, tpg: Any, changes: list[str]) -> Any:
    """The block backstore `name` as `spec` says, made again if its device, serial or
    read-only flag differ (none of them can change while a LUN uses it)."""
    backstore = _lookup(rtslib_fb.BlockStorageObject, name)
    if backstore is not None and (
        backstore.udev_path != spec.device
        or backstore.wwn != spec.serial
        or backstore.readonly != spec.read_only
    ):
        for lun in list(tpg.luns):
            lun.delete()
        backstore.delete()
        backstore = None
    if backstore is None:
        backstore = rtslib_fb.BlockStorageObject(
            name, dev=spec.device, wwn=spec.serial, readonly=spec.read_only
        )
        changes.append("backstore")
    if not spec.read_only and backstore.get_attribute(UNMAP_ATTRIBUTE) != "1":
        backstore.set_attribute(UNMAP_ATTRIBUTE, "1")
        changes.append(UNMAP_ATTRIBUTE)
    return backstore


def _converge_lun(tpg: Any, backstore: Any, changes: list[str]) -> Any:
    """LUN 0 on `backstore`, and no other LUN."""
    found = None
    for lun in list(tpg.luns):
        if lun.lun == LUN and lun.storage_object == backstore:
            found = lun
        else:
            lun.delete()
            changes.append(f"lun {lun.lun} removed")
    if found is None:
        found = rtslib_fb.LUN(tpg, LUN, storage_object=backstore)
        changes.append("lun")
    return found


def _converge_acls(tpg: Any, lun: Any, spec: TargetSpec, changes: list[str]) -> None:
    """One NodeACL per spec ACL (CHAP credentials, LUN 0 mapped, write-protected when
    read-only); any other ACL removed, which closes its sessions."""
    wanted = {acl.initiator.lower(): acl for acl in spec.acls}
    for node_acl in list(tpg.node_acls):
        if node_acl.node_wwn not in wanted:
            node_acl.delete()
            changes.append(f"acl {node_acl.node_wwn} removed")
    for initiator, acl in wanted.items():
        node_acl = _lookup(rtslib_fb.NodeACL, tpg, initiator, mode="lookup")
        if node_acl is None:
            node_acl = rtslib_fb.NodeACL(tpg, initiator, mode="create")
            changes.append(f"acl {initiator}")
        if node_acl.chap_userid != acl.credentials.username:
            node_acl.chap_userid = acl.credentials.username
            changes.append(f"acl {initiator} chap user")
        if node_acl.chap_password != acl.credentials.password:
            node_acl.chap_password = acl.credentials.password
            changes.append(f"acl {initiator} chap secret")
        mapped = None
        for mapped_lun in list(node_acl.mapped_luns):
            if mapped_lun.mapped_lun == LUN and mapped_lun.tpg_lun == lun:
                mapped = mapped_lun
            else:
                mapped_lun.delete()
        if mapped is None:
            rtslib_fb.MappedLUN(node_acl, LUN, lun, write_protect=spec.read_only)
            changes.append(f"acl {initiator} lun")
        elif mapped.write_protect != spec.read_only:
            mapped.write_protect = spec.read_only
            changes.append(f"acl {initiator} write protect")


def _converge_portals(tpg: Any, portals: Sequence[Portal], changes: list[str]) -> None:
    wanted = [portal_key(p) for p in portals]
    present = set()
    for portal in list(tpg.network_portals):
        key = (portal.ip_address, portal.port)
        if key in wanted:
            present.add(key)
        else:
            portal.delete()
            changes.append(f"portal {key[0]}:{key[1]} removed")
    for address, port in wanted:
        if (address, port) not in present:
            rtslib_fb.NetworkPortal(tpg, address, port, mode="create")
            changes.append(f"portal {address}:{port}")
