"""Exports: one row per exported object (its iSCSI target), one per allowed initiator (its ACL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _row(
    table: str, *columns: sa.Column[object], args: tuple[sa.schema.SchemaItem, ...] = ()
) -> None:
    op.create_table(
        table,
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f(f"pk_{table}")),
        *args,
        sqlite_autoincrement=True,
    )
    op.create_index(op.f(f"ix_{table}_id"), table, ["id"], unique=True)


def upgrade() -> None:
    _row(
        "exports",
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_iqn", sa.String(length=223), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        args=(
            sa.UniqueConstraint("target_iqn", name=op.f("uq_exports_target_iqn")),
            sa.UniqueConstraint("serial", name=op.f("uq_exports_serial")),
        ),
    )
    op.create_index(op.f("ix_exports_object_id"), "exports", ["object_id"], unique=True)
    _row(
        "accesses",
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("initiator", sa.String(length=223), nullable=False),
        sa.Column("chap_username", sa.String(length=255), nullable=False),
        sa.Column("chap_secret_sealed", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("multipath", sa.Boolean(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        args=(
            sa.ForeignKeyConstraint(
                ["export_id"],
                ["exports.id"],
                name=op.f("fk_accesses_export_id_exports"),
                initially="DEFERRED",
                deferrable=True,
            ),
            sa.UniqueConstraint(
                "export_id", "initiator", name=op.f("uq_accesses_export_initiator")
            ),
        ),
    )
    op.create_index(op.f("ix_accesses_export_id"), "accesses", ["export_id"], unique=False)
    op.create_index(op.f("ix_accesses_initiator"), "accesses", ["initiator"], unique=False)
    op.create_index(op.f("ix_accesses_state"), "accesses", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("accesses")
    op.drop_table("exports")
