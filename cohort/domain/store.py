"""The store as the domain sees it: repositories inside a unit of work.

`Store.transaction()` opens a unit of work; it commits when the block ends normally and rolls
back when it raises. Repositories never commit on their own. Objects returned are detached
copies: change them, then `update()` them inside a transaction.

Filters are keyword arguments naming record attributes, compared for equality (None matches a
missing value); `exclude` holds attribute values to leave out. Lists are ordered by creation
(oldest first) and paged by an opaque token.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cohort.domain.exports import Access, Export
from cohort.domain.model import (
    Group,
    GroupSnapshot,
    GroupType,
    Operation,
    Snapshot,
    Volume,
    VolumeType,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str  # "" on the last page


class Repository(Protocol[T]):
    def get(self, id: str) -> T | None: ...

    def by_name(self, name: str) -> T | None: ...

    def add(self, obj: T) -> None: ...

    def update(self, obj: T) -> None: ...

    def patch(self, id: str, **changes: object) -> None:
        """Set only the named attributes of a record (NotFound if it is gone): how a call
        applies its results without writing back fields another call may have changed."""
        ...

    def total(self, attribute: str, **eq: object) -> int:
        """The sum of a numeric attribute over the matching records (0 if none)."""
        ...

    def remove(self, id: str) -> None: ...

    def find(self, exclude: Mapping[str, object] | None = None, **eq: object) -> list[T]:
        """Every matching record, unpaged (for the manager's own checks)."""
        ...

    def count(self, exclude: Mapping[str, object] | None = None, **eq: object) -> int: ...

    def page(
        self,
        page_size: int,
        page_token: str,
        exclude: Mapping[str, object] | None = None,
        **eq: object,
    ) -> Page[T]:
        """One page. A token that this store did not issue raises InvalidArgument."""
        ...

    def __iter__(self) -> Iterator[T]: ...


class Transaction(Protocol):
    volume_types: Repository[VolumeType]
    group_types: Repository[GroupType]
    volumes: Repository[Volume]
    snapshots: Repository[Snapshot]
    groups: Repository[Group]
    group_snapshots: Repository[GroupSnapshot]
    operations: Repository[Operation]
    exports: Repository[Export]
    accesses: Repository[Access]


class Store(Protocol):
    def transaction(self, *, readonly: bool = False) -> AbstractContextManager[Transaction]:
        """A unit of work; readonly ones run beside the writer and refuse writes."""
        ...

    def close(self) -> None: ...
