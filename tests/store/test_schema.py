"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from cohort.store import SqlStore, codec, migrate
from cohort.store.models import Base


def diffs(store: SqlStore) -> list[Any]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrated_schema_equals_the_models(tmp_path: Path) -> None:
    store = SqlStore.open(tmp_path)
    try:
        assert diffs(store) == []
    finally:
        store.close()


def test_models_schema_compares_clean_too() -> None:
    """The comparison is not blind: the models' own schema passes, an altered one does not."""
    store = SqlStore.memory()
    try:
        assert diffs(store) == []
        with store.engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_volumes_status")
            connection.exec_driver_sql("ALTER TABLE volumes ADD COLUMN stray TEXT")
        found = {d[0] for d in diffs(store)}
        assert {"add_index", "remove_column"} <= found
    finally:
        store.close()


def test_open_migrates_to_head_and_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        store = SqlStore.open(tmp_path)
        try:
            assert migrate.current_revision(store.engine) == migrate.head_revision()
        finally:
            store.close()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    store = SqlStore.open(tmp_path)
    try:
        with store.engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "base")
        assert set(inspect(store.engine).get_table_names()) == {"alembic_version"}
        store.upgrade()
        assert diffs(store) == []
    finally:
        store.close()


def test_one_head() -> None:
    assert len(ScriptDirectory.from_config(migrate.alembic_config()).get_heads()) == 1


@pytest.mark.parametrize("c", codec.ALL, ids=lambda c: c.kind)
def test_every_domain_attribute_has_a_column(c: codec.Codec[Any]) -> None:
    columns = {col.name for col in c.row.__table__.columns}
    attributes = {col for f in dataclasses.fields(c.record) for col in c.columns_of(f.name)}
    assert columns == attributes | {"seq"}


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("volumes", "status"),
        ("volumes", "group_id"),
        ("snapshots", "volume_id"),
        ("snapshots", "group_snapshot_id"),
        ("groups", "group_type_id"),
        ("group_snapshots", "group_id"),
        ("operations", "state"),
    ],
)
def test_filtered_columns_are_indexed(table: str, column: str) -> None:
    indexed = {tuple(i.columns.keys()) for i in Base.metadata.tables[table].indexes}
    assert (column,) in indexed


@pytest.mark.parametrize(
    "table", [t for t in Base.metadata.tables if "name" in Base.metadata.tables[t].columns]
)
def test_names_are_unique(table: str) -> None:
    unique = {tuple(i.columns.keys()) for i in Base.metadata.tables[table].indexes if i.unique}
    assert ("name",) in unique


def test_rows_made_before_freeze_records_read_back_without_one(tmp_path: Path) -> None:
    """Revision 0002 adds the freeze columns: a group and group snapshot stored under 0001
    read back with `freeze` None."""
    store = SqlStore(f"sqlite:///{tmp_path / 'cohort.db'}")
    try:
        store.upgrade("0001")
        with store.engine.begin() as connection:
            for statement in (
                "INSERT INTO group_types (id, name, description, group_specs, reserved,"
                " created_at) VALUES ('gt', 'gt', '', '{}', 0, '2024-01-01 00:00:00')",
                "INSERT INTO groups (id, name, group_type_id, volume_type_ids, status,"
                " description, consistent, updated_at, created_at) VALUES ('g', 'g', 'gt', '[]',"
                " 'available', '', 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
                "INSERT INTO group_snapshots (id, name, group_id, group_type_id, status,"
                " description, consistent, updated_at, created_at) VALUES ('gs', 'gs', 'g', 'gt',"
                " 'available', '', 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
            ):
                connection.exec_driver_sql(statement)
        store.upgrade()
        with store.transaction(readonly=True) as tx:
            group, gs = tx.groups.get("g"), tx.group_snapshots.get("gs")
        assert group is not None and group.freeze is None and group.consistent
        assert gs is not None and gs.freeze is None
    finally:
        store.close()
