"""How the manager turns a driver's answer into statuses (seeds 003 and 004).

Pure functions: given what the backend returned (or that it raised), decide the parent's status,
each member's status, and whether the operation failed. The manager applies the verdict.

The rules, per method (the driver "raised" case is handled by the caller: everything `error`):

- create_group: model status `error` fails; else `available`.
- update_group: model status `error` fails (group and the added/removed volumes `error`); else
  the group is `available` and members take the statuses returned, or keep theirs.
- create_group_from_src: no exception is success (seed 004), whatever model_update says; members
  take the statuses returned, the others `available`; the group `available`.
- create_group_snapshot / delete_group_snapshot / delete_group: a member returned in `error`
  (or `error_deleting` for deletes) makes the parent take that status unless the model already
  failed; a model status of `error` (or `error_deleting` for deletes) fails with the parent in
  `error`. A model_update returned without member updates leaves the members' fate unknown:
  every member `error` and the parent `error`. Success, including (None, None): all `available`
  (creates) or all `deleted` (deletes). A failed create is all or nothing: the members already
  made are removed (the journal rolls them back), so every member ends in `error`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cohort.domain.backend import MemberUpdate, ModelUpdate
from cohort.domain.model import FreezeRecord

ERROR = "error"
ERROR_DELETING = "error_deleting"
FAILED_CREATE = frozenset({ERROR})
FAILED_DELETE = frozenset({ERROR, ERROR_DELETING})


@dataclass(frozen=True, slots=True)
class Verdict:
    failed: bool
    parent_status: str
    #: member id -> status; every member of the operation appears.
    member_status: dict[str, str]
    #: member id -> device path returned by the backend (volume creates).
    device_paths: dict[str, str]
    reason: str = ""
    #: How a group snapshot's or a group clone's image was taken, as the backend reported it
    #: (kept whatever the verdict: a failed freeze records its window too).
    freeze: FreezeRecord | None = None

    def recorded(self) -> dict[str, object]:
        """The freeze record as a change to the taken image's record (none: no change)."""
        return {} if self.freeze is None else {"freeze": self.freeze}


def _returned(updates: Sequence[MemberUpdate] | None) -> dict[str, MemberUpdate]:
    return {u.id: u for u in updates or ()}


def _paths(updates: Sequence[MemberUpdate] | None) -> dict[str, str]:
    return {u.id: u.device_path for u in updates or () if u.device_path}


def raised(member_ids: Sequence[str], reason: str) -> Verdict:
    """The driver raised: the parent and every member `error`."""
    return Verdict(True, ERROR, dict.fromkeys(member_ids, ERROR), {}, reason)


def group_members(
    model: ModelUpdate | None,
    updates: Sequence[MemberUpdate] | None,
    member_ids: Sequence[str],
    *,
    deleting: bool,
) -> Verdict:
    """create_group_snapshot, delete_group_snapshot, delete_group."""
    failing = FAILED_DELETE if deleting else FAILED_CREATE
    success = "deleted" if deleting else "available"
    returned = _returned(updates)
    model_status = model.status if model else None
    parent = model_status
    for update in returned.values():
        if update.status in failing and parent not in failing:
            parent = update.status
    if model is not None and updates is None:
        return Verdict(
            True,
            ERROR,
            dict.fromkeys(member_ids, ERROR),
            {},
            "the backend returned no member updates",
        )
    if model_status in failing:
        statuses = (
            {m: (returned[m].status or ERROR) if m in returned else ERROR for m in member_ids}
            if deleting
            else dict.fromkeys(member_ids, ERROR)
        )
        return Verdict(True, ERROR, statuses, {}, f"the backend reported status {model_status}")
    if parent in failing:
        assert parent is not None
        statuses = {
            m: (returned[m].status or success) if m in returned else success for m in member_ids
        }
        bad = [m for m, s in statuses.items() if s in failing]
        if not deleting:
            statuses = dict.fromkeys(member_ids, ERROR)
        return Verdict(True, parent, statuses, _paths(updates), f"members failed: {bad}")
    return Verdict(False, success, dict.fromkeys(member_ids, success), _paths(updates))


def taken(verdict: Verdict, model: ModelUpdate | None) -> Verdict:
    """The verdict of a create that takes a group's image, with the backend's freeze record."""
    return verdict if model is None else replace(verdict, freeze=model.freeze)


def create_group(model: ModelUpdate | None) -> Verdict:
    if model is not None and model.status == ERROR:
        return Verdict(True, ERROR, {}, {}, "the backend reported status error")
    return Verdict(False, "available", {}, {})


def update_group(
    model: ModelUpdate | None,
    add_updates: Sequence[MemberUpdate] | None,
    remove_updates: Sequence[MemberUpdate] | None,
    current: dict[str, str],
) -> Verdict:
    """`current` maps every added and removed volume to its status before the update."""
    if model is not None and model.status == ERROR:
        return Verdict(
            True, ERROR, dict.fromkeys(current, ERROR), {}, "the backend reported status error"
        )
    statuses = dict(current)
    for update in [*(add_updates or ()), *(remove_updates or ())]:
        if update.id in statuses and update.status:
            statuses[update.id] = update.status
    return Verdict(False, "available", statuses, {})


def create_group_from_src(
    updates: Sequence[MemberUpdate] | None, member_ids: Sequence[str]
) -> Verdict:
    """No exception is success: members as returned, the others available."""
    returned = _returned(updates)
    statuses = {
        m: (returned[m].status or "available") if m in returned else "available" for m in member_ids
    }
    return Verdict(False, "available", statuses, _paths(updates))
