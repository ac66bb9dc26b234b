"""The SQL store: SQLAlchemy models, repositories, a unit of work, Alembic migrations.

`SqlStore.open(state_dir)` is the daemon's store (SQLite, WAL, migrated at start-up);
`SqlStore.memory()` is an in-memory store for tests.
"""

from cohort.store.repository import ReadOnlyTransaction, SqlRepository
from cohort.store.sql import SqlStore, SqlTransaction

__all__ = ["ReadOnlyTransaction", "SqlRepository", "SqlStore", "SqlTransaction"]
