"""The SQL schema: one table per domain record, typed declarative models.

Every table has the domain record's attributes as columns plus `seq`, an internal autoincrement
key that gives a stable creation order for lists and paging (AUTOINCREMENT on SQLite, so a
deleted row's seq is never handed out again). Names are unique per table; rows are hard-deleted
when their object is deleted, so a deleted object's name is free again.

Foreign keys cover ownership only (a volume's type and group, a snapshot's volume and group
snapshot, a group's type, a group snapshot's group) and are checked at commit (DEFERRABLE
INITIALLY DEFERRED), so the order of writes inside one transaction does not matter. Provenance
ids (source_volume_id, source_snapshot_id, source_group_id, groups.group_snapshot_id) are plain
columns: a source may be deleted after its copy was made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cohort.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(36)
NAME = String(255)
STATUS = String(32)
#: AUTOINCREMENT: a deleted row's seq is never reused, so page tokens stay meaningful.
_TABLE_ARGS: dict[str, Any] = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _ref(target: str) -> ForeignKey:
    return ForeignKey(target, deferrable=True, initially="DEFERRED")


class _Freeze:
    """How a group's image was taken (cohort.domain.model.FreezeRecord; every column NULL when
    there is none): the path, the freeze window, and the per-member-volume gate stalls (JSON:
    volume id -> seconds)."""

    freeze_path: Mapped[str | None] = mapped_column(String(16))
    freeze_window_seconds: Mapped[float | None] = mapped_column(Float)
    freeze_stalls: Mapped[dict[str, float] | None] = mapped_column(JSON)


class _Row:
    """Columns every table has."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, sort_order=-2)
    id: Mapped[str] = mapped_column(ID, unique=True, index=True, sort_order=-1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), sort_order=1)


class VolumeTypeRow(_Row, Base):
    __tablename__ = "volume_types"
    __table_args__ = _TABLE_ARGS

    name: Mapped[str] = mapped_column(NAME, unique=True, index=True)
    description: Mapped[str] = mapped_column(Text)
    extra_specs: Mapped[dict[str, str]] = mapped_column(JSON)


class GroupTypeRow(_Row, Base):
    __tablename__ = "group_types"
    __table_args__ = _TABLE_ARGS

    name: Mapped[str] = mapped_column(NAME, unique=True, index=True)
    description: Mapped[str] = mapped_column(Text)
    group_specs: Mapped[dict[str, str]] = mapped_column(JSON)
    reserved: Mapped[bool] = mapped_column(Boolean)


class VolumeRow(_Row, Base):
    __tablename__ = "volumes"
    __table_args__ = _TABLE_ARGS

    name: Mapped[str] = mapped_column(NAME, unique=True, index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    volume_type_id: Mapped[str] = mapped_column(ID, _ref("volume_types.id"), index=True)
    status: Mapped[str] = mapped_column(STATUS, index=True)
    description: Mapped[str] = mapped_column(Text)
    group_id: Mapped[str | None] = mapped_column(ID, _ref("groups.id"), index=True)
    source_volume_id: Mapped[str | None] = mapped_column(ID, index=True)
    source_snapshot_id: Mapped[str | None] = mapped_column(ID, index=True)
    device_path: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SnapshotRow(_Row, Base):
    __tablename__ = "snapshots"
    __table_args__ = _TABLE_ARGS

    name: Mapped[str] = mapped_column(NAME, unique=True, index=True)
    volume_id: Mapped[str] = mapped_column(ID, _ref("volumes.id"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(STATUS, index=True)
    description: Mapped[str] = mapped_column(Text)
    group_snapshot_id: Mapped[str | None] = mapped_column(
        ID, _ref("group_snapshots.id"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupRow(_Row, _Freeze, Base):
    __tablename__ = "groups"
    __table_args__ = _TABLE_ARGS

    name: Mapped[str] = mapped_column(NAME, unique=True, index=True)
    group_type_id: Mapped[str] = mapped_column(ID, _ref("group_types.id"), index=True)
    volume_type_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(STATUS, index=True)
    description: Mapped[str] = mapped_column(Text)
    consistent: Mapped[bool] = mapped_column(Boolean)
    source_group_id: Mapped[str | None] = mapped_column(ID, index=True)
    group_snapshot_id: Mapped[str | None] = mapped_column(ID, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupSnapshotRow(_Row, _Freeze, Base):
    __tablename__ = "group_snapshots"
    __table_args__ = _TABLE_ARGS

    name: Mapped[str] = mapped_column(NAME, unique=True, index=True)
    group_id: Mapped[str] = mapped_column(ID, _ref("groups.id"), index=True)
    group_type_id: Mapped[str] = mapped_column(ID, index=True)
    status: Mapped[str] = mapped_column(STATUS, index=True)
    description: Mapped[str] = mapped_column(Text)
    consistent: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OperationRow(_Row, Base):
    __tablename__ = "operations"
    __table_args__ = _TABLE_ARGS

    kind: Mapped[str] = mapped_column(String(64), index=True)
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(STATUS, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExportRow(_Row, Base):
    __tablename__ = "exports"
    __table_args__ = _TABLE_ARGS

    # One export per object: a volume's or a snapshot's id (either table; no foreign key).
    object_id: Mapped[str] = mapped_column(ID, unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_iqn: Mapped[str] = mapped_column(String(223), unique=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)


class AccessRow(_Row, Base):
    __tablename__ = "accesses"
    __table_args__ = (
        UniqueConstraint("export_id", "initiator", name="uq_accesses_export_initiator"),
        _TABLE_ARGS,
    )

    export_id: Mapped[str] = mapped_column(ID, _ref("exports.id"), index=True)
    initiator: Mapped[str] = mapped_column(String(223), index=True)
    chap_username: Mapped[str] = mapped_column(String(255))
    chap_secret_sealed: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str] = mapped_column(String(64))
    multipath: Mapped[bool] = mapped_column(Boolean)
    attachments: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(STATUS, index=True)
