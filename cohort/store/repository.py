"""One repository per record kind, over the transaction's Session. Repositories never commit.

Filters: keyword arguments name record attributes and compare for equality (None matches
NULL); `exclude` maps attributes to values to leave out (None leaves out NULL; a row whose
value is NULL is *not* left out by a non-None exclude value, as in Python's `!=`). An unknown
attribute, the internal `seq`, or a JSON attribute (specs, volume_type_ids, steps) is a
programming error: ValueError.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from cohort.domain.store import Page
from cohort.errors import AlreadyExists, InvalidArgument, NotFound
from cohort.store.codec import Codec
from cohort.store.models import Base
from cohort.store.paging import decode_token, encode_token

T = TypeVar("T")


class ReadOnlyTransaction(RuntimeError):
    """A write was attempted in a read-only transaction."""


class SqlRepository(Generic[T]):
    def __init__(self, session: Session, codec: Codec[T], *, readonly: bool = False) -> None:
        self._session = session
        self._codec = codec
        self._row = codec.row
        self._readonly = readonly

    # -- reads ---------------------------------------------------------------------------

    def get(self, id: str) -> T | None:
        row = self._row_by("id", id)
        return None if row is None else self._codec.to_record(row)

    def by_name(self, name: str) -> T | None:
        if "name" not in self._codec.fields:
            raise ValueError(f"a {self._codec.kind} has no name")
        row = self._row_by("name", name)
        return None if row is None else self._codec.to_record(row)

    def find(self, exclude: Mapping[str, object] | None = None, **eq: object) -> list[T]:
        stmt = self._select(exclude, eq).order_by(self._column("seq"))
        return [self._codec.to_record(row) for row in self._session.scalars(stmt)]

    def count(self, exclude: Mapping[str, object] | None = None, **eq: object) -> int:
        where = self._where(exclude, eq)
        stmt = select(func.count()).select_from(self._row).where(*where)
        return int(self._session.scalar(stmt) or 0)

    def total(self, attribute: str, **eq: object) -> int:
        column = self._filter_column(attribute)
        stmt = select(func.coalesce(func.sum(column), 0)).where(*self._where(None, eq))
        return int(self._session.scalar(stmt) or 0)

    def page(
        self,
        page_size: int,
        page_token: str,
        exclude: Mapping[str, object] | None = None,
        **eq: object,
    ) -> Page[T]:
        if page_size <= 0:
            raise InvalidArgument("page_size must be positive")
        after = decode_token(page_token)
        seq = self._column("seq")
        stmt = self._select(exclude, eq).where(seq > after).order_by(seq).limit(page_size + 1)
        rows = list(self._session.scalars(stmt))
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1].seq) if more else ""
        return Page(items=[self._codec.to_record(row) for row in rows], next_page_token=token)

    def __iter__(self) -> Iterator[T]:
        return iter(self.find())

    # -- writes --------------------------------------------------------------------------

    def add(self, obj: T) -> None:
        self._check_writable()
        row = self._row(**self._codec.to_columns(obj))
        self._flush_guarded(obj, lambda: self._session.add(row))

    def update(self, obj: T) -> None:
        self._check_writable()
        id_ = getattr(obj, "id")  # noqa: B009 - T is any record; every record has an id
        row = self._row_by("id", id_)
        if row is None:
            raise NotFound(f"{self._codec.kind} {id_} not found")
        columns = self._codec.to_columns(obj)

        def assign() -> None:
            for name, value in columns.items():
                setattr(row, name, value)

        self._flush_guarded(obj, assign)

    def patch(self, id: str, **changes: object) -> None:
        self._check_writable()
        row = self._row_by("id", id)
        if row is None:
            raise NotFound(f"{self._codec.kind} {id} not found")
        columns = self._codec.patch_columns(changes)
        try:
            with self._session.begin_nested():
                for name, value in columns.items():
                    setattr(row, name, value)
        except IntegrityError:
            if "name" in changes:
                raise AlreadyExists(
                    f"a {self._codec.kind} named {changes['name']!r} already exists"
                ) from None
            raise

    def remove(self, id: str) -> None:
        """Delete the record; removing an id that is not there does nothing."""
        self._check_writable()
        row = self._row_by("id", id)
        if row is not None:
            self._session.delete(row)
            self._session.flush()

    # -- helpers -------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._readonly:
            raise ReadOnlyTransaction(
                f"cannot write a {self._codec.kind} in a read-only transaction"
            )

    def _flush_guarded(self, obj: T, change: Any) -> None:
        """Apply `change` and flush inside a SAVEPOINT, so that a duplicate name is reported
        as AlreadyExists and leaves the rest of the transaction usable."""
        try:
            with self._session.begin_nested():
                change()
        except IntegrityError:
            name = getattr(obj, "name", None)
            if name is not None:
                holder = self._row_by("name", name)
                if holder is not None and getattr(holder, "id") != getattr(obj, "id"):  # noqa: B009
                    raise AlreadyExists(
                        f"a {self._codec.kind} named {name!r} already exists"
                    ) from None
            raise

    def _row_by(self, attribute: str, value: str) -> Base | None:
        stmt = select(self._row).where(self._column(attribute) == value)
        return self._session.scalars(stmt).one_or_none()

    def _column(self, attribute: str) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(self._row, attribute)
        return column

    def _filter_column(self, attribute: str) -> InstrumentedAttribute[Any]:
        if attribute not in self._codec.fields:
            raise ValueError(f"a {self._codec.kind} has no attribute {attribute!r}")
        if attribute in self._codec.json_fields:
            raise ValueError(f"cannot filter {self._codec.kind}s on {attribute!r}")
        return self._column(attribute)

    def _where(
        self, exclude: Mapping[str, object] | None, eq: Mapping[str, object]
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        for attribute, value in eq.items():
            column = self._filter_column(attribute)
            if value is None:
                where.append(column.is_(None))
            else:
                where.append(column == self._codec.column_value(attribute, value))
        for attribute, value in (exclude or {}).items():
            column = self._filter_column(attribute)
            if value is None:
                where.append(column.is_not(None))
            else:
                stored = self._codec.column_value(attribute, value)
                where.append(column.is_distinct_from(stored))
        return where

    def _select(
        self, exclude: Mapping[str, object] | None, eq: Mapping[str, object]
    ) -> Select[Any]:
        return select(self._row).where(*self._where(exclude, eq))
