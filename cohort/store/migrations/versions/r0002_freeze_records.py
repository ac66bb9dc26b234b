"""Freeze records: how a group snapshot's, or a group clone's, image was taken.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("groups", "group_snapshots")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("freeze_path", sa.String(length=16), nullable=True))
            batch.add_column(sa.Column("freeze_window_seconds", sa.Float(), nullable=True))
            batch.add_column(sa.Column("freeze_stalls", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("freeze_stalls")
            batch.drop_column("freeze_window_seconds")
            batch.drop_column("freeze_path")
