"""Crash windows of an export or unexport, then `restore_exports` (what cohortd runs at start):
the outcome cohort.manager.restore documents, and the volume's status follows.

A crash is a `Crash` (a BaseException, which no handler of cohort's catches) raised from the
in-memory target's publish or withdraw, before or after it changed the target: the call stops
there, its access rows left `adding` or `removing` and its reservation released, as a process
ending there would leave the store and (the same manager standing in for the next start) the
kernel's targets. Also: a failed re-export keeps what was there, and without a portal nothing is
exported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cohort.domain.exports import AccessState, Connector, TargetSpec
from cohort.domain.model import VolumeStatus
from cohort.errors import CohortError, FailedPrecondition
from cohort.manager import Manager
from tests.api.conftest import Api
from tests.api.scenario import MIB, types
from tests.exported import INITIATORS, export_problems, memory_targets

A, B = (Connector(i) for i in INITIATORS[:2])


class Crash(BaseException):
    """The process ends here."""


def crash_in(
    manager: Manager, method: str, *, after: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target's next `method` call crashes, before or after it did its work."""
    targets = memory_targets(manager)
    original: Callable[..., None] = getattr(targets, method)

    def crashing(*args: object) -> None:
        monkeypatch.undo()
        if after:
            original(*args)
        raise Crash

    monkeypatch.setattr(targets, method, crashing)


def new_volume(api: Api) -> str:
    types(api)
    return api.manager.create_volume("v", 8 * MIB, "plain").id


def states(manager: Manager) -> dict[str, AccessState]:
    with manager.store.transaction(readonly=True) as tx:
        return {a.initiator: a.state for a in tx.accesses.find()}


def volume_status(manager: Manager, volume_id: str) -> VolumeStatus:
    return manager.get_volume(volume_id).status


@pytest.mark.parametrize("after", [False, True], ids=["before publish", "after publish"])
def test_a_first_export_cut_off_is_undone(
    api: Api, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    m, vol = api.manager, new_volume(api)
    crash_in(m, "publish", after=after, monkeypatch=monkeypatch)
    with pytest.raises(Crash):
        m.export_volume(vol, A)
    assert states(m) == {A.initiator: AccessState.ADDING}
    done = m.restore_exports()
    assert done.published == [] and done.disabled == [] and not done.failed
    assert states(m) == {}
    assert memory_targets(m).targets == {}
    assert volume_status(m, vol) is VolumeStatus.AVAILABLE
    assert export_problems(m) == []
    m.delete_volume(vol)  # nothing holds it


@pytest.mark.parametrize("after", [False, True], ids=["before publish", "after publish"])
def test_a_second_initiator_cut_off_leaves_the_first(
    api: Api, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    m, vol = api.manager, new_volume(api)
    first = m.export_volume(vol, A)["data"]
    crash_in(m, "publish", after=after, monkeypatch=monkeypatch)
    with pytest.raises(Crash):
        m.export_volume(vol, B)
    done = m.restore_exports()
    assert done.published == [first["target_iqn"]] and done.disabled == []
    assert states(m) == {A.initiator: AccessState.ACTIVE}
    (held,) = memory_targets(m).targets.values()
    assert [acl.initiator for acl in held.spec.acls] == [A.initiator]
    assert volume_status(m, vol) is VolumeStatus.IN_USE
    assert export_problems(m) == []
    # The first initiator's export is as it was: the same credentials.
    assert m.export_volume(vol, A)["data"]["auth_password"] == first["auth_password"]


@pytest.mark.parametrize("after", [False, True], ids=["before withdraw", "after withdraw"])
def test_an_unexport_cut_off_is_finished(
    api: Api, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    m, vol = api.manager, new_volume(api)
    m.export_volume(vol, A)
    crash_in(m, "withdraw", after=after, monkeypatch=monkeypatch)
    with pytest.raises(Crash):
        m.unexport(vol, None)
    assert states(m) == {A.initiator: AccessState.REMOVING}
    done = m.restore_exports()
    assert done.published == [] and done.disabled == []
    assert states(m) == {} and memory_targets(m).targets == {}
    assert volume_status(m, vol) is VolumeStatus.AVAILABLE
    m.delete_volume(vol)


def test_an_unexport_of_one_initiator_cut_off_is_finished(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    m, vol = api.manager, new_volume(api)
    m.export_volume(vol, A)
    m.export_volume(vol, B)
    crash_in(m, "publish", after=False, monkeypatch=monkeypatch)
    with pytest.raises(Crash):
        m.unexport(vol, B)
    m.restore_exports()
    assert states(m) == {A.initiator: AccessState.ACTIVE}
    (held,) = memory_targets(m).targets.values()
    assert [acl.initiator for acl in held.spec.acls] == [A.initiator]
    assert volume_status(m, vol) is VolumeStatus.IN_USE
    assert export_problems(m) == []


def test_a_snapshot_export_cut_off_is_undone(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    m, vol = api.manager, new_volume(api)
    snap = m.create_snapshot(vol, "s")
    crash_in(m, "publish", after=True, monkeypatch=monkeypatch)
    with pytest.raises(Crash):
        m.export_snapshot(snap.id, A)
    m.restore_exports()
    assert states(m) == {} and memory_targets(m).targets == {}
    assert volume_status(m, vol) is VolumeStatus.AVAILABLE
    m.delete_snapshot(snap.id)


def test_the_volume_status_follows_the_store_after_a_restore(api: Api) -> None:
    m, vol = api.manager, new_volume(api)
    other = api.manager.create_volume("w", 8 * MIB, "plain")
    m.export_volume(vol, A)
    m.set_volume_status(m.get_volume(vol), VolumeStatus.AVAILABLE)
    m.set_volume_status(other, VolumeStatus.IN_USE)
    m.restore_exports()
    assert volume_status(m, vol) is VolumeStatus.IN_USE
    assert volume_status(m, other.id) is VolumeStatus.AVAILABLE
    assert export_problems(m) == []


@pytest.mark.parametrize("attachment", ["", "att-1"])
def test_a_failed_re_export_keeps_the_access_it_found(
    api: Api, monkeypatch: pytest.MonkeyPatch, attachment: str
) -> None:
    """The same initiator and attachment again, and the target refuses: the access that was
    there stays, with its target and the volume in-use."""
    m, vol = api.manager, new_volume(api)
    first = m.export_volume(vol, A, attachment)["data"]
    lio = memory_targets(m)
    before = dict(lio.targets)

    def refuse(spec: TargetSpec) -> None:
        raise OSError("configfs said no")

    monkeypatch.setattr(lio, "publish", refuse)
    with pytest.raises(CohortError):
        m.export_volume(vol, A, attachment)
    monkeypatch.undo()
    assert lio.targets == before
    assert states(m) == {A.initiator: AccessState.ACTIVE}
    assert volume_status(m, vol) is VolumeStatus.IN_USE
    assert export_problems(m) == []
    assert m.export_volume(vol, A, attachment)["data"] == first


def test_a_failed_export_of_another_attachment_uncounts_only_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    m, vol = api.manager, new_volume(api)
    m.export_volume(vol, A, "att-1")

    def refuse(spec: TargetSpec) -> None:
        raise OSError("configfs said no")

    monkeypatch.setattr(memory_targets(m), "publish", refuse)
    with pytest.raises(CohortError):
        m.export_volume(vol, A, "att-2")
    monkeypatch.undo()
    ((_, (access,)),) = m.list_exports(0, "").items
    assert access.attachments == ["att-1"] and access.state is AccessState.ACTIVE
    assert export_problems(m) == []


def test_without_a_portal_nothing_is_exported(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    m, vol = api.manager, new_volume(api)
    monkeypatch.setattr(memory_targets(m), "portals", lambda: ())
    with pytest.raises(FailedPrecondition):
        m.export_volume(vol, A)
    assert states(m) == {} and memory_targets(m).targets == {}
    assert volume_status(m, vol) is VolumeStatus.AVAILABLE


def test_a_failed_unexport_puts_the_target_back(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The target changed, then failed (a partial publish): the access stays, and so does its
    ACL."""
    m, vol = api.manager, new_volume(api)
    m.export_volume(vol, A)
    m.export_volume(vol, B)
    lio = memory_targets(m)
    original = lio.publish

    def half(spec: TargetSpec) -> None:
        monkeypatch.undo()
        original(spec)
        raise OSError("configfs said no, halfway")

    monkeypatch.setattr(lio, "publish", half)
    with pytest.raises(CohortError):
        m.unexport(vol, B)
    assert states(m) == {A.initiator: AccessState.ACTIVE, B.initiator: AccessState.ACTIVE}
    assert export_problems(m) == []
