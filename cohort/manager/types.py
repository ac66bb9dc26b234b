"""Volume types and group types."""

from __future__ import annotations

from cohort.domain import validation
from cohort.domain.model import CG_GROUP_TYPE_NAME, GroupType, VolumeType
from cohort.domain.store import Page
from cohort.errors import AlreadyExists, FailedPrecondition
from cohort.manager.core import Core


class TypesMixin(Core):
    def create_volume_type(
        self, name: str, description: str, extra_specs: dict[str, str]
    ) -> VolumeType:
        validation.name(name, "volume type name")
        validation.description(description)
        validation.spec_map(extra_specs, "extra_specs")
        with self.mutation() as tx:
            existing = tx.volume_types.by_name(name)
            if existing is not None:
                if (existing.description, existing.extra_specs) == (description, extra_specs):
                    return existing
                raise AlreadyExists(f"volume type {name} exists with other arguments")
            volume_type = VolumeType(
                name=name, description=description, extra_specs=dict(extra_specs)
            )
            tx.volume_types.add(volume_type)
        return volume_type

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
        validation.name(name, "group type name")
        validation.description(description)
        validation.spec_map(group_specs, "group_specs")
        if name == CG_GROUP_TYPE_NAME:
            raise AlreadyExists(f"group type {name} is reserved for consistency groups")
        with self.mutation() as tx:
            existing = tx.group_types.by_name(name)
            if existing is not None:
                if (existing.description, existing.group_specs) == (description, group_specs):
                    return existing
                raise AlreadyExists(f"group type {name} exists with other arguments")
            group_type = GroupType(
                name=name, description=description, group_specs=dict(group_specs)
            )
            tx.group_types.add(group_type)
        return group_type

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
