"""The reservation table (cohort.manager.reservations) and the manager's use of it."""

from __future__ import annotations

import threading

import pytest

from cohort.domain.capabilities import CapabilityPolicy
from cohort.domain.model import VolumeStatus
from cohort.errors import FailedPrecondition, ObjectBusy, ResourceExhausted
from cohort.manager import Manager
from cohort.manager.reservations import Mode, Reservations
from cohort.sim import SimBackend
from cohort.store import SqlStore

from .conftest import GIB


def test_shared_holds_coexist_and_exclusive_conflicts() -> None:
    table = Reservations()
    with table.ticket("CreateSnapshot") as one, table.ticket("CreateVolume") as two:
        one.hold("volume", "v", Mode.SHARED)
        two.hold("volume", "v", Mode.SHARED)
        with table.ticket("DeleteVolume") as three, pytest.raises(ObjectBusy) as busy:
            three.hold("volume", "v", Mode.EXCLUSIVE)
        assert busy.value.operation == "CreateSnapshot"
        assert (busy.value.kind, busy.value.object_id) == ("volume", "v")
        assert str(busy.value).startswith("busy: volume v is held by CreateSnapshot")
    assert len(table) == 0


def test_exclusive_blocks_shared_and_a_ticket_may_upgrade_its_own_hold() -> None:
    table = Reservations()
    with table.ticket("ExtendVolume") as one:
        one.hold("volume", "v", Mode.SHARED)
        one.hold("volume", "v", Mode.EXCLUSIVE)
        one.hold("volume", "v", Mode.SHARED)  # already held more strongly: no downgrade
        with table.ticket("CreateSnapshot") as two, pytest.raises(ObjectBusy):
            two.hold("volume", "v", Mode.SHARED)
    assert table.holder("v") is None


def test_released_on_an_exception_and_waiters_wake() -> None:
    table = Reservations()
    entered, woke = threading.Event(), threading.Event()

    def waiter() -> None:
        entered.wait()
        if table.wait_free("v", timeout=10):
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    with pytest.raises(RuntimeError), table.ticket("DeleteVolume") as ticket:
        ticket.hold("volume", "v", Mode.EXCLUSIVE)
        entered.set()
        raise RuntimeError("backend fell over")
    thread.join(10)
    assert woke.is_set()
    assert table.holder("v") is None
    assert not table.wait_free("never-held", timeout=0) or table.holder("never-held") is None


def test_growth_counts_only_live_tickets() -> None:
    table = Reservations()
    with table.ticket("ExtendVolume") as ticket:
        ticket.growth = 5
        assert table.growth() == 5
    assert table.growth() == 0


def test_a_held_volume_is_busy_not_a_rule_violation(manager: Manager) -> None:
    manager.create_volume_type("t", "", {})
    vol = manager.create_volume("v1", GIB, "t")
    with manager.reserve("ExtendVolume") as ticket:
        ticket.hold("volume", vol.id, Mode.EXCLUSIVE)
        with pytest.raises(ObjectBusy) as busy:
            manager.delete_volume(vol.id)
        assert busy.value.operation == "ExtendVolume"
        # A clone only reads its source: it too waits for the extend's exclusive hold.
        with pytest.raises(ObjectBusy):
            manager.create_volume("clone", 0, "t", volume_id=vol.id)
    assert manager.get_volume(vol.id).status is VolumeStatus.AVAILABLE
    manager.delete_volume(vol.id)
    assert len(manager.reservations) == 0


def test_an_identical_create_waits_for_the_first_and_answers_the_same_object(
    manager: Manager, sim: SimBackend
) -> None:
    manager.create_volume_type("t", "", {})
    started, release = threading.Event(), threading.Event()
    create = sim.create_volume

    def slow_create(volume):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(10)
        return create(volume)

    sim.create_volume = slow_create  # type: ignore[method-assign]
    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(manager.create_volume("v", GIB, "t").id))
    first.start()
    assert started.wait(10)
    second: list[object] = []
    thread = threading.Thread(target=lambda: second.append(manager.create_volume("v", GIB, "t")))
    thread.start()
    thread.join(0.2)
    assert thread.is_alive(), "the second create waits while the first holds the volume"
    release.set()
    first.join(10)
    thread.join(10)
    (vol,) = second
    assert getattr(vol, "id") == answers[0]  # noqa: B009
    assert getattr(vol, "status") is VolumeStatus.AVAILABLE  # noqa: B009


def test_rules_still_answer_failed_precondition_when_nothing_is_held(manager: Manager) -> None:
    manager.create_volume_type("t", "", {})
    vol = manager.create_volume("v1", GIB, "t")
    manager.create_snapshot(vol.id, "s1")
    with pytest.raises(FailedPrecondition, match="has snapshots"):
        manager.delete_volume(vol.id)


def test_a_group_holds_at_most_max_group_volumes(store: SqlStore, sim: SimBackend) -> None:
    manager = Manager(store, sim, CapabilityPolicy(max_group_volumes=2), host="h")
    manager.create_volume_type("t", "", {})
    manager.create_group_type("gt", "", {})
    group = manager.create_group("g", "", "gt", ["t"])
    manager.create_volume("a", GIB, "t", group="g")
    loose = manager.create_volume("b", GIB, "t")
    manager.update_group("g", add_volume_ids=[loose.id])
    with pytest.raises(ResourceExhausted, match=r"at most 2 \(\[backend\] max_group_volumes\)"):
        manager.create_volume("c", GIB, "t", group="g")
    other = manager.create_volume("d", GIB, "t")
    with pytest.raises(ResourceExhausted, match="would hold 3 volumes"):
        manager.update_group("g", add_volume_ids=[other.id])
    # Swapping one member for another keeps the size: allowed.
    manager.update_group("g", add_volume_ids=[other.id], remove_volume_ids=[loose.id])
    gsnap = manager.create_group_snapshot("g", "gs")
    assert manager.create_group_from_source("g2", "", group_snapshot=gsnap.id)
    assert manager.get_group(group.id).status.value == "available"


def test_a_consistent_group_holds_at_most_freeze_max_group_volumes(
    store: SqlStore, sim: SimBackend
) -> None:
    """A consistent group's freeze must fit the guard's deadline: [freeze] max_group_volumes
    bounds it at CreateVolume, UpdateGroup and CreateGroupFromSource; plain groups keep
    [backend] max_group_volumes."""
    policy = CapabilityPolicy(max_group_volumes=3, max_consistent_group_volumes=2)
    manager = Manager(store, sim, policy, host="h")
    consistent = {"consistent_group_snapshot_enabled": "<is> True"}
    manager.create_volume_type("t", "", consistent)
    manager.create_group_type("cgt", "", consistent)
    manager.create_group_type("gt", "", {})
    group = manager.create_group("c", "", "cgt", ["t"])
    manager.create_volume("a", GIB, "t", group="c")
    manager.create_volume("b", GIB, "t", group="c")
    limit = r"would hold 3 volumes; at most 2 \(\[freeze\] max_group_volumes\)"
    with pytest.raises(ResourceExhausted, match=limit):
        manager.create_volume("c", GIB, "t", group="c")
    loose = manager.create_volume("d", GIB, "t")
    with pytest.raises(ResourceExhausted, match=limit):
        manager.update_group("c", add_volume_ids=[loose.id])
    # A clone of a full consistent group is as big as the group: within the limit.
    assert manager.create_group_from_source("clone", "", source_group="c").consistent
    # A plain group of the same size and more keeps the [backend] limit.
    manager.create_group("p", "", "gt", ["t"])
    for name in ("p1", "p2", "p3"):
        manager.create_volume(name, GIB, "t", group="p")
    with pytest.raises(ResourceExhausted, match=r"at most 3 \(\[backend\] max_group_volumes\)"):
        manager.create_volume("p4", GIB, "t", group="p")
    assert manager.get_group(group.id).status.value == "available"


def test_a_clone_of_a_group_beyond_the_consistent_limit_is_refused(
    store: SqlStore, sim: SimBackend
) -> None:
    """The limit may be lowered while groups exist: a clone of (or a group from a snapshot of)
    a consistent group bigger than [freeze] max_group_volumes is refused, nothing made."""
    consistent = {"consistent_group_snapshot_enabled": "<is> True"}
    manager = Manager(store, sim, CapabilityPolicy(), host="h")
    manager.create_volume_type("t", "", consistent)
    manager.create_group_type("cgt", "", consistent)
    manager.create_group("c", "", "cgt", ["t"])
    for name in ("a", "b", "c"):
        manager.create_volume(name, GIB, "t", group="c")
    gsnap = manager.create_group_snapshot("c", "gs")
    lowered = Manager(store, sim, CapabilityPolicy(max_consistent_group_volumes=2), host="h")
    limit = r"group clone would hold 3 volumes; at most 2 \(\[freeze\] max_group_volumes\)"
    with pytest.raises(ResourceExhausted, match=limit):
        lowered.create_group_from_source("clone", "", source_group="c")
    with pytest.raises(ResourceExhausted, match=r"at most 2 \(\[freeze\]"):
        lowered.create_group_from_source("from-gs", "", group_snapshot=gsnap.id)
    assert [g.name for g in lowered.list_groups(10, "").items] == ["c"]
    assert len(sim.volume_ids()) == 3


def test_pool_figures_never_make_a_call_wait_once_known(
    manager: Manager, sim: SimBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the backend cannot answer stats (LVM's lock held elsewhere), calls that need no
    backend go on with the last figures; one refresh runs in the background."""
    from cohort.manager import core

    manager.refresh_pool()
    stuck, calls = threading.Event(), []
    stats = sim.stats

    def blocked_stats():  # type: ignore[no-untyped-def]
        calls.append(1)
        stuck.wait(10)
        return stats()

    monkeypatch.setattr(sim, "stats", blocked_stats)
    monkeypatch.setattr(core, "POOL_FIGURES_MAX_AGE_SECONDS", 0.0)
    manager.create_volume_type("t", "", {})
    manager.create_group_type("gt", "", {})
    for n in range(3):
        manager.create_group(f"g{n}", "", "gt", ["t"])  # needs the capabilities, not LVM
    for _ in range(1000):  # the refresh thread may not have started yet
        if calls:
            break
        threading.Event().wait(0.01)
    assert calls == [1], "exactly one refresh is under way"
    stuck.set()
