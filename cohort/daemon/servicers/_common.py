"""What every servicer shares: list responses from pages, and group / group snapshot messages
with their members fetched in one manager call per page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from cohort.domain.model import Group, GroupSnapshot
from cohort.domain.store import Page

if TYPE_CHECKING:
    from cohort.manager import Manager

T = TypeVar("T")


M = TypeVar("M")


def paged(field: str, page: Page[T], fields: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """Keyword arguments of a List*Response: the items' fields under `field`, and the token.
    (Protobuf builds list items from their fields faster than it copies ready messages.)"""
    return {field: [fields(item) for item in page.items], "next_page_token": page.next_page_token}


def optional(request: Any, field: str) -> str | None:
    """The value of a proto3 `optional string` field, None when the client did not set it."""
    value: str = getattr(request, field)
    return value if request.HasField(field) else None


class Members:
    """Builds Group/ConsistencyGroup and GroupSnapshot/Cgsnapshot messages with member ids."""

    def __init__(self, manager: Manager) -> None:
        self._manager = manager

    def groups(
        self, groups: Sequence[Group], message: Callable[[Group, Sequence[str]], M]
    ) -> list[M]:
        ids = self._manager.volume_ids([g.id for g in groups])
        return [message(g, ids.get(g.id, [])) for g in groups]

    def group(self, group: Group, message: Callable[[Group, Sequence[str]], M]) -> M:
        return self.groups([group], message)[0]

    def group_snapshots(
        self,
        group_snapshots: Sequence[GroupSnapshot],
        message: Callable[[GroupSnapshot, Sequence[str]], M],
    ) -> list[M]:
        ids = self._manager.snapshot_ids([gs.id for gs in group_snapshots])
        return [message(gs, ids.get(gs.id, [])) for gs in group_snapshots]

    def group_snapshot(
        self, group_snapshot: GroupSnapshot, message: Callable[[GroupSnapshot, Sequence[str]], M]
    ) -> M:
        return self.group_snapshots([group_snapshot], message)[0]

    def group_page(
        self, field: str, page: Page[Group], message: Callable[[Group, Sequence[str]], M]
    ) -> dict[str, Any]:
        return {field: self.groups(page.items, message), "next_page_token": page.next_page_token}

    def group_snapshot_page(
        self,
        field: str,
        page: Page[GroupSnapshot],
        message: Callable[[GroupSnapshot, Sequence[str]], M],
    ) -> dict[str, Any]:
        items = self.group_snapshots(page.items, message)
        return {field: items, "next_page_token": page.next_page_token}
