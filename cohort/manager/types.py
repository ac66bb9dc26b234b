"""Volume types and group types."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cohort.domain import validation
from cohort.domain.model import CG_GROUP_TYPE_NAME, GroupType, VolumeType
from cohort.domain.store import Page, Repository, Transaction
from cohort.errors import AlreadyExists, FailedPrecondition
from cohort.manager.core import Core

AnyType = TypeVar("AnyType", VolumeType, GroupType)


def specs_of(record: VolumeType | GroupType) -> tuple[str, dict[str, str]]:
    specs = record.extra_specs if isinstance(record, VolumeType) else record.group_specs
    return record.description, specs


class TypesMixin(Core):
    def create_volume_type(
        self, name: str, description: str, extra_specs: dict[str, str]
    ) -> VolumeType:
        validation.spec_map(extra_specs, "extra_specs")
        record = VolumeType(name=name, description=description, extra_specs=dict(extra_specs))
        return self._create_type(record, "volume type", lambda tx: tx.volume_types)

    def get_volume_type(self, ref: str) -> VolumeType:
        with self.reading() as tx:
            return self.volume_type(tx, ref)

    def list_volume_types(self, page_size: int, page_token: str) -> Page[VolumeType]:
        with self.reading() as tx:
            return self.paged(tx.volume_types, page_size, page_token)

    def delete_volume_type(self, ref: str) -> None:
        with self.mutation() as tx:
            volume_type = self.volume_type(tx, ref)
            if tx.volumes.count(volume_type_id=volume_type.id):
                raise FailedPrecondition(f"volume type {volume_type.name} is used by volumes")
            if any(volume_type.id in g.volume_type_ids for g in tx.groups):
                raise FailedPrecondition(f"volume type {volume_type.name} is used by groups")
            tx.volume_types.remove(volume_type.id)

    def create_group_type(
        self, name: str, description: str, group_specs: dict[str, str]
    ) -> GroupType:
        validation.spec_map(group_specs, "group_specs")
        if name == CG_GROUP_TYPE_NAME:
            raise AlreadyExists(f"group type {name} is reserved for consistency groups")
        record = GroupType(name=name, description=description, group_specs=dict(group_specs))
        return self._create_type(record, "group type", lambda tx: tx.group_types)

    def _create_type(
        self, record: AnyType, what: str, repo: Callable[[Transaction], Repository[AnyType]]
    ) -> AnyType:
        """Create a type, idempotently by name: same description and specs, the existing one."""
        validation.name(record.name, f"{what} name")
        validation.description(record.description)
        with self.mutation() as tx:
            existing = repo(tx).by_name(record.name)
            if existing is None:
                repo(tx).add(record)
                return record
            if specs_of(existing) == specs_of(record):
                return existing
            raise AlreadyExists(f"{what} {record.name} exists with other arguments")

    def get_group_type(self, ref: str) -> GroupType:
        with self.reading() as tx:
            return self.group_type(tx, ref)

    def list_group_types(self, page_size: int, page_token: str) -> Page[GroupType]:
        with self.reading() as tx:
            return self.paged(tx.group_types, page_size, page_token)

    def delete_group_type(self, ref: str) -> None:
        with self.mutation() as tx:
            group_type = self.group_type(tx, ref)
            if group_type.reserved:
                raise FailedPrecondition(f"group type {group_type.name} is reserved")
            if tx.groups.count(group_type_id=group_type.id):
                raise FailedPrecondition(f"group type {group_type.name} is used by groups")
            tx.group_types.remove(group_type.id)
