"""Initial schema: types, volumes, snapshots, groups, group snapshots, operations.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "group_types",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_specs", sa.JSON(), nullable=False),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_group_types")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_group_types_id"), "group_types", ["id"], unique=True)
    op.create_index(op.f("ix_group_types_name"), "group_types", ["name"], unique=True)

    op.create_table(
        "operations",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_operations")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_operations_id"), "operations", ["id"], unique=True)
    op.create_index(op.f("ix_operations_kind"), "operations", ["kind"], unique=False)
    op.create_index(op.f("ix_operations_state"), "operations", ["state"], unique=False)
    op.create_index(op.f("ix_operations_subject_id"), "operations", ["subject_id"], unique=False)

    op.create_table(
        "volume_types",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("extra_specs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_volume_types")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_volume_types_id"), "volume_types", ["id"], unique=True)
    op.create_index(op.f("ix_volume_types_name"), "volume_types", ["name"], unique=True)

    op.create_table(
        "groups",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("group_type_id", sa.String(length=36), nullable=False),
        sa.Column("volume_type_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("consistent", sa.Boolean(), nullable=False),
        sa.Column("source_group_id", sa.String(length=36), nullable=True),
        sa.Column("group_snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_type_id"],
            ["group_types.id"],
            name=op.f("fk_groups_group_type_id_group_types"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_groups")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_groups_group_snapshot_id"), "groups", ["group_snapshot_id"], unique=False
    )
    op.create_index(op.f("ix_groups_group_type_id"), "groups", ["group_type_id"], unique=False)
    op.create_index(op.f("ix_groups_id"), "groups", ["id"], unique=True)
    op.create_index(op.f("ix_groups_name"), "groups", ["name"], unique=True)
    op.create_index(op.f("ix_groups_source_group_id"), "groups", ["source_group_id"], unique=False)
    op.create_index(op.f("ix_groups_status"), "groups", ["status"], unique=False)

    op.create_table(
        "group_snapshots",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("group_type_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("consistent", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_snapshots_group_id_groups"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_group_snapshots")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_group_snapshots_group_id"), "group_snapshots", ["group_id"], unique=False
    )
    op.create_index(
        op.f("ix_group_snapshots_group_type_id"), "group_snapshots", ["group_type_id"], unique=False
    )
    op.create_index(op.f("ix_group_snapshots_id"), "group_snapshots", ["id"], unique=True)
    op.create_index(op.f("ix_group_snapshots_name"), "group_snapshots", ["name"], unique=True)
    op.create_index(op.f("ix_group_snapshots_status"), "group_snapshots", ["status"], unique=False)

    op.create_table(
        "volumes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("source_volume_id", sa.String(length=36), nullable=True),
        sa.Column("source_snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("device_path", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_volumes_group_id_groups"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["volume_type_id"],
            ["volume_types.id"],
            name=op.f("fk_volumes_volume_type_id_volume_types"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_volumes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_volumes_group_id"), "volumes", ["group_id"], unique=False)
    op.create_index(op.f("ix_volumes_id"), "volumes", ["id"], unique=True)
    op.create_index(op.f("ix_volumes_name"), "volumes", ["name"], unique=True)
    op.create_index(
        op.f("ix_volumes_source_snapshot_id"), "volumes", ["source_snapshot_id"], unique=False
    )
    op.create_index(
        op.f("ix_volumes_source_volume_id"), "volumes", ["source_volume_id"], unique=False
    )
    op.create_index(op.f("ix_volumes_status"), "volumes", ["status"], unique=False)
    op.create_index(op.f("ix_volumes_volume_type_id"), "volumes", ["volume_type_id"], unique=False)

    op.create_table(
        "snapshots",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_snapshot_id"],
            ["group_snapshots.id"],
            name=op.f("fk_snapshots_group_snapshot_id_group_snapshots"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volumes.id"],
            name=op.f("fk_snapshots_volume_id_volumes"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_snapshots")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_snapshots_group_snapshot_id"), "snapshots", ["group_snapshot_id"], unique=False
    )
    op.create_index(op.f("ix_snapshots_id"), "snapshots", ["id"], unique=True)
    op.create_index(op.f("ix_snapshots_name"), "snapshots", ["name"], unique=True)
    op.create_index(op.f("ix_snapshots_status"), "snapshots", ["status"], unique=False)
    op.create_index(op.f("ix_snapshots_volume_id"), "snapshots", ["volume_id"], unique=False)


def downgrade() -> None:
    op.drop_table("snapshots")
    op.drop_table("volumes")
    op.drop_table("group_snapshots")
    op.drop_table("groups")
    op.drop_table("volume_types")
    op.drop_table("operations")
    op.drop_table("group_types")
