"""One repository per record kind. Reads go through the kind's `Reader` on the transaction's
DBAPI connection; writes go through the transaction's Session (a read-only transaction has
none). Repositories never commit.

Filters: keyword arguments name record attributes and compare for equality (None matches
NULL); `exclude` maps attributes to values to leave out (None leaves out NULL; a row whose
value is NULL is *not* left out by a non-None exclude value, as in Python's `!=`). An unknown
attribute, the internal `seq`, or a JSON attribute (specs, volume_type_ids, steps) is a
programming error: ValueError.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from cohort.domain.store import Page
from cohort.errors import AlreadyExists, NotFound
from cohort.store.models import Base
from cohort.store.reads import Reader

T = TypeVar("T")


class ReadOnlyTransaction(RuntimeError):
    """A write was attempted in a read-only transaction."""


class SqlRepository(Generic[T]):
    __slots__ = ("_codec", "_dbapi", "_reader", "_row", "_writer")

    def __init__(self, reader: Reader[T], dbapi: Any, session: Session | None) -> None:
        """`dbapi` is the transaction's DBAPI connection; `session` None: read-only."""
        self._reader = reader
        self._dbapi = dbapi
        self._writer = session
        self._codec = reader.codec
        self._row = reader.codec.row

    # -- reads ---------------------------------------------------------------------------

    def get(self, id: str) -> T | None:
        return self._reader.get(self._dbapi, id)

    def by_name(self, name: str) -> T | None:
        return self._reader.by_name(self._dbapi, name)

    def find(self, exclude: Mapping[str, object] | None = None, **eq: object) -> list[T]:
        return self._reader.find(self._dbapi, exclude, eq)

    def count(self, exclude: Mapping[str, object] | None = None, **eq: object) -> int:
        return self._reader.count(self._dbapi, exclude, eq)

    def total(self, attribute: str, **eq: object) -> int:
        return self._reader.total(self._dbapi, attribute, eq)

    def page(
        self,
        page_size: int,
        page_token: str,
        exclude: Mapping[str, object] | None = None,
        **eq: object,
    ) -> Page[T]:
        return self._reader.page(self._dbapi, page_size, page_token, exclude, eq)

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

    def _check_writable(self) -> Session:
        if self._writer is None:
            raise ReadOnlyTransaction(
                f"cannot write a {self._codec.kind} in a read-only transaction"
            )
        return self._writer

    @property
    def _session(self) -> Session:
        return self._check_writable()

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
        column: InstrumentedAttribute[Any] = getattr(self._row, attribute)
        return self._session.scalars(select(self._row).where(column == value)).one_or_none()
