"""Exports: what cohort lets initiators reach over iSCSI, and the port that makes it so.

An `Export` is one exported object (a volume, or a snapshot read-only): one iSCSI target with
LUN 0 on the object's device. Each initiator allowed in is an `Access` (a NodeACL) with CHAP
credentials of its own. The store holds both; the kernel's target is made to match the store
(`Targets.publish`), at each change and when cohortd starts, so the store is the one truth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cohort.domain.model import new_id, now

#: An export's one LUN.
LUN = 0


class ExportKind(StrEnum):
    VOLUME = "volume"
    SNAPSHOT = "snapshot"


class AccessState(StrEnum):
    """An access row is written before the target is changed and settled after: a crash in
    between is resolved at start (an `adding` access is dropped, a `removing` one finished)."""

    ADDING = "adding"
    ACTIVE = "active"
    REMOVING = "removing"


@dataclass(frozen=True, slots=True)
class Connector:
    """os-brick's connector properties, as far as an export reads them."""

    initiator: str
    host: str = ""
    ip: str = ""
    multipath: bool = False


@dataclass(slots=True)
class Export:
    object_id: str
    kind: ExportKind
    target_iqn: str
    #: The LUN's unit serial: the identity initiators see (VPD page 0x80/0x83, by-id names).
    serial: str
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)

    @property
    def read_only(self) -> bool:
        return self.kind is ExportKind.SNAPSHOT


@dataclass(slots=True)
class Access:
    export_id: str
    initiator: str
    chap_username: str
    #: The CHAP secret as the store keeps it: sealed (cohort.iscsi.secrets), never plain.
    chap_secret_sealed: str
    host: str = ""
    ip: str = ""
    multipath: bool = False
    #: Attachment ids sharing this access ("" is the unnamed one); it goes with the last.
    attachments: list[str] = field(default_factory=list)
    state: AccessState = AccessState.ADDING
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<redacted>)"


@dataclass(frozen=True, slots=True)
class AclSpec:
    initiator: str
    credentials: Credentials


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """What one target must be: its IQN, LUN 0 on `device` with identity `serial`, read-only or
    not, and exactly these ACLs (no other initiator may log in)."""

    iqn: str
    device: str
    serial: str
    read_only: bool
    acls: tuple[AclSpec, ...]


@dataclass(frozen=True, slots=True)
class Portal:
    """An address initiators reach the targets at."""

    address: str
    port: int = 3260

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


class Targets(Protocol):
    """The kernel's iSCSI target as cohort drives it (LIO through rtslib-fb; a memory fake).

    Every method is idempotent and touches only targets whose IQN starts with `prefix`.
    """

    prefix: str

    def portals(self) -> Sequence[Portal]:
        """The portals every target listens on (configured, or found on interfaces now)."""
        ...

    def publish(self, spec: TargetSpec) -> None:
        """Make the target exactly `spec`: created if missing (same IQN, serial, credentials),
        enabled, its LUN on `spec.device`, ACLs added, changed or removed to match. An initiator
        removed from the ACLs has its sessions closed."""
        ...

    def withdraw(self, iqn: str) -> None:
        """Remove the target, its LUN and its backstore; nothing if it is not there."""
        ...

    def present(self) -> Sequence[str]:
        """The IQNs (with `prefix`) of every target in the kernel now, enabled or not."""
        ...

    def disable(self, iqn: str) -> None:
        """Stop a target accepting logins, keeping everything it has (a target cohort's store
        does not know: reported, never deleted)."""
        ...


class Sealer(Protocol):
    """Seals CHAP secrets for the store (cohort.iscsi.secrets). `aad` binds a sealed value to its
    row: unsealed with another, it fails."""

    def seal(self, plain: str, aad: str) -> str: ...

    def unseal(self, sealed: str, aad: str) -> str: ...


@dataclass(frozen=True, slots=True)
class ExportPlane:
    """What the manager exports through: the kernel's target, the sealer of secrets, the maker
    of new CHAP credentials, and the IQN prefix of cohort's targets (`<prefix>:<kind>-<id>`)."""

    targets: Targets
    sealer: Sealer
    new_credentials: Callable[[], Credentials]
    iqn_prefix: str

    def target_iqn(self, kind: ExportKind, object_id: str) -> str:
        return f"{self.iqn_prefix}:{kind.value}-{object_id}"
