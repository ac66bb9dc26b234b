"""Reads without the ORM: each statement compiled once, run on the DBAPI connection, rows
decoded straight into domain records.

A `Reader` per record kind builds a statement per *shape* (get by id, by name, or find / count /
page with a given set of filter attributes), compiles it with the engine's dialect the first
time that shape is asked for, and keeps the SQL text. A read then costs one DBAPI execute and a
decode per row: the column types' own result processors (SQLAlchemy's, for this dialect) and the
codec's conversions, in one pass. Nothing read is kept across calls: every read sees what the
database holds in the caller's transaction.

Inside a write transaction the reads run on the Session's connection, which the repositories
flush after every write, so they see the transaction's own writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Dialect, Select, bindparam, func, select

from cohort.domain.store import Page
from cohort.errors import InvalidArgument
from cohort.store.codec import Codec
from cohort.store.paging import decode_token, encode_token

T = TypeVar("T")
Decode = Callable[[Any], Any]
#: A filter's shape: attribute names, and for each whether its value is None.
Shape = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class _Statement:
    """Compiled SQL, the order of its parameters (None: the dialect takes them by name), and
    the values of parameters the compiler added itself (SQLite's ``OFFSET 0``)."""

    sql: str
    order: tuple[str, ...] | None
    fixed: dict[str, Any]

    @classmethod
    def compile(cls, stmt: Select[Any], dialect: Dialect) -> _Statement:
        compiled = stmt.compile(dialect=dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        fixed = {
            name: bind.value for name, bind in compiled.binds.items() if bind.value is not None
        }
        return cls(compiled.string, order, fixed)

    def run(self, dbapi: Any, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        if self.fixed:
            values = {**self.fixed, **values}
        params = values if self.order is None else tuple(values[n] for n in self.order)
        cursor = dbapi.cursor()
        try:
            cursor.execute(self.sql, params)
            rows: list[Sequence[Any]] = cursor.fetchall()
        finally:
            cursor.close()
        return rows


def _chain(first: Decode | None, then: Decode | None) -> Decode | None:
    if first is None or then is None:
        return first or then
    return lambda value: None if value is None else then(first(value))


class Reader(Generic[T]):
    """The reads of one record kind over one dialect. Thread-safe: its statement cache only
    grows, and a statement built twice by a race is the same statement."""

    def __init__(self, codec: Codec[T], dialect: Dialect) -> None:
        self.codec = codec
        self._dialect = dialect
        self._table = codec.row.__table__
        columns = self._table.c
        #: The columns of the record's fields in order, then seq (for page tokens).
        names = [column for name in codec.fields for column in codec.columns_of(name)]
        self._selected = [columns[name] for name in names] + [columns.seq]
        self._decoders: list[tuple[int, Decode]] = []
        for index, name in enumerate(names):
            processor = columns[name].type.dialect_impl(dialect).result_processor(dialect, None)
            special = codec.special.get(name)
            decode = _chain(processor, special[1] if special else None)
            if decode is not None:
                self._decoders.append((index, decode))
        #: (first column's index, column count, decode) per composite field, last first, so
        #: that folding one leaves the indexes of those before it unchanged.
        self._composites = sorted(
            (
                (names.index(c.columns[0]), len(c.columns), c.decode)
                for c in codec.composites.values()
            ),
            reverse=True,
        )
        self._binders: dict[str, Decode | None] = {
            name: columns[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in codec.fields
            if name not in codec.composites
        }
        #: (kind, summed attribute, filter shapes) -> statement
        self._statements: dict[tuple[str, str, Shape, Shape], _Statement] = {}

    # -- reads, on a DBAPI connection ------------------------------------------------------

    def get(self, dbapi: Any, id: str) -> T | None:
        return self._one(dbapi, "id", id)

    def by_name(self, dbapi: Any, name: str) -> T | None:
        if "name" not in self.codec.fields:
            raise ValueError(f"a {self.codec.kind} has no name")
        return self._one(dbapi, "name", name)

    def find(
        self, dbapi: Any, exclude: Mapping[str, object] | None, eq: Mapping[str, object]
    ) -> list[T]:
        statement, values = self._filtered("find", exclude, eq)
        return [self._record(row) for row in statement.run(dbapi, values)]

    def count(
        self, dbapi: Any, exclude: Mapping[str, object] | None, eq: Mapping[str, object]
    ) -> int:
        statement, values = self._filtered("count", exclude, eq)
        return int(statement.run(dbapi, values)[0][0])

    def total(self, dbapi: Any, attribute: str, eq: Mapping[str, object]) -> int:
        statement, values = self._filtered("total", None, eq, attribute)
        return int(statement.run(dbapi, values)[0][0])

    def page(
        self,
        dbapi: Any,
        page_size: int,
        page_token: str,
        exclude: Mapping[str, object] | None,
        eq: Mapping[str, object],
    ) -> Page[T]:
        if page_size <= 0:
            raise InvalidArgument("page_size must be positive")
        after = decode_token(page_token)
        statement, values = self._filtered("page", exclude, eq)
        values["after"] = after
        values["limit"] = page_size + 1
        rows = statement.run(dbapi, values)
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1][-1]) if more else ""
        return Page(items=[self._record(row) for row in rows], next_page_token=token)

    # -- helpers -----------------------------------------------------------------------------

    def _record(self, row: Sequence[Any]) -> T:
        values = list(row)
        for index, decode in self._decoders:
            values[index] = decode(values[index])
        del values[-1]  # seq
        for start, count, fold in self._composites:
            values[start : start + count] = [fold(tuple(values[start : start + count]))]
        return self.codec.record(*values)

    def _one(self, dbapi: Any, attribute: str, value: str) -> T | None:
        key = ("one", "", ((attribute, False),), ())
        statement = self._statements.get(key)
        if statement is None:
            stmt = select(*self._selected).where(self._table.c[attribute] == bindparam("value"))
            statement = self._statements[key] = _Statement.compile(stmt, self._dialect)
        rows = statement.run(dbapi, {"value": value})
        return self._record(rows[0]) if rows else None

    def _filtered(
        self,
        kind: str,
        exclude: Mapping[str, object] | None,
        eq: Mapping[str, object],
        summed: str = "",
    ) -> tuple[_Statement, dict[str, Any]]:
        """The statement of `kind` (summing `summed`, for "total") for these filters' shape,
        and its parameter values."""
        exclude = exclude or {}
        key = (kind, summed, _shape(eq), _shape(exclude))
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = self._build(kind, summed, key[2], key[3])
        values: dict[str, Any] = {}
        for prefix, filters in (("eq_", eq), ("ne_", exclude)):
            for attribute, value in filters.items():
                if value is not None:
                    values[prefix + attribute] = self._bind(attribute, value)
        return statement, values

    def _bind(self, attribute: str, value: object) -> Any:
        stored = self.codec.column_value(attribute, value)
        binder = self._binders[attribute]
        return stored if binder is None else binder(stored)

    def _build(self, kind: str, summed: str, eq: Shape, exclude: Shape) -> _Statement:
        where = self._where(eq, exclude)
        seq = self._table.c.seq
        stmt: Select[Any]
        if kind == "count":
            stmt = select(func.count()).select_from(self._table).where(*where)
        elif kind == "total":
            total = func.coalesce(func.sum(self._filter_column(summed)), 0)
            stmt = select(total).select_from(self._table).where(*where)
        elif kind == "find":
            stmt = select(*self._selected).where(*where).order_by(seq)
        else:
            stmt = (
                select(*self._selected)
                .where(*where, seq > bindparam("after"))
                .order_by(seq)
                .limit(bindparam("limit"))
            )
        return _Statement.compile(stmt, self._dialect)

    def _where(self, eq: Shape, exclude: Shape) -> list[ColumnElement[bool]]:
        """None matches NULL; a non-None exclude value leaves out only that value (a NULL
        row stays, as with Python's `!=`)."""
        where: list[ColumnElement[bool]] = []
        for attribute, is_none in eq:
            column = self._filter_column(attribute)
            where.append(column.is_(None) if is_none else column == bindparam("eq_" + attribute))
        for attribute, is_none in exclude:
            column = self._filter_column(attribute)
            if is_none:
                where.append(column.is_not(None))
            else:
                where.append(column.is_distinct_from(bindparam("ne_" + attribute)))
        return where

    def _filter_column(self, attribute: str) -> Any:
        if attribute not in self.codec.fields:
            raise ValueError(f"a {self.codec.kind} has no attribute {attribute!r}")
        if attribute in self.codec.json_fields or attribute in self.codec.composites:
            raise ValueError(f"cannot filter {self.codec.kind}s on {attribute!r}")
        return self._table.c[attribute]


def _shape(filters: Mapping[str, object]) -> Shape:
    return tuple(sorted((attribute, value is None) for attribute, value in filters.items()))
