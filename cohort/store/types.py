"""Column types the store needs beyond SQLAlchemy's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp.

    Databases with a timezone-aware type keep it; SQLite (which has none) stores the UTC wall
    time, and the tzinfo is re-attached on load. Naive datetimes are refused: the domain only
    makes aware ones (`cohort.domain.model.now`), so a naive one is a bug upstream.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps aware UTC times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], datetime | None] | None:
        if dialect.name == "sqlite":
            return _sqlite_utc  # what SQLite's DATETIME and process_result_value do, in one call
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_utc(value: str | None) -> datetime | None:
    """SQLite keeps the UTC wall time as ISO text ("2024-05-06 07:08:09.123456")."""
    return None if value is None else datetime.fromisoformat(value + "+00:00")
