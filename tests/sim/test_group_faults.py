"""The fault plan's knobs on the journaled group methods: answers, failures, typed errors,
crashes, and what the journal holds after each."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cohort.domain.backend import GroupResult, Step
from cohort.domain.model import Volume
from cohort.errors import BackendError
from cohort.sim import FaultPlan, MethodFaults, SimBackend, SimulatedCrash
from cohort.sim.faults import ERRORS
from tests.recorder import Recorder

from .helpers import make_group, make_group_snapshot, make_volume, snapshots_of

Call = Callable[[SimBackend, Recorder], GroupResult]


def _setup(method: str, sim: SimBackend) -> tuple[Call, list[str]]:
    """A call of `method` over three members, and the member ids in order."""
    volumes = [make_volume(sim, name=f"v{i}") for i in range(3)]
    group = make_group()
    sim.create_group(group)
    group_snapshot = make_group_snapshot(group)
    snapshots = snapshots_of(volumes, group_snapshot)
    if method == "create_group_snapshot":
        return (
            lambda s, j: s.create_group_snapshot(group_snapshot, snapshots, j),
            [x.id for x in snapshots],
        )
    if method == "delete_group_snapshot":
        sim.create_group_snapshot(group_snapshot, snapshots, Recorder())
        return (
            lambda s, j: s.delete_group_snapshot(group_snapshot, snapshots, j),
            [x.id for x in snapshots],
        )
    if method == "delete_group":
        return (lambda s, j: s.delete_group(group, volumes, j), [v.id for v in volumes])
    assert method == "create_group_from_src"
    new_group = make_group()
    targets = []
    for v in volumes:
        target = Volume(name="n", size_bytes=v.size_bytes, volume_type_id="t")
        target.source_volume_id = v.id
        targets.append(target)
    return (
        lambda s, j: s.create_group_from_src(new_group, targets, j, source_group=group),
        [t.id for t in targets],
    )


JOURNALED = (
    "delete_group",
    "create_group_from_src",
    "create_group_snapshot",
    "delete_group_snapshot",
)
NORMAL = {
    "delete_group": ("deleted", "deleted"),
    "create_group_from_src": ("available", "available"),
    "create_group_snapshot": ("available", "available"),
    "delete_group_snapshot": ("deleted", "deleted"),
}
ERROR_STATUS = {
    "delete_group": ("error_deleting", "error_deleting"),
    "create_group_from_src": ("error", "error"),
    "create_group_snapshot": ("error", "error"),
    "delete_group_snapshot": ("error_deleting", "error"),
}


@pytest.mark.parametrize("method", JOURNALED)
def test_no_faults(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, ids = _setup(method, sim)
    model, members = call(sim, journal)
    assert model is not None and model.status == NORMAL[method][0]
    assert members is not None
    assert [(m.id, m.status) for m in members] == [(i, NORMAL[method][1]) for i in ids]


@pytest.mark.parametrize("method", JOURNALED)
def test_raise_knob(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, _ = _setup(method, sim)
    state = (sim.volume_ids(), sim.snapshot_ids())
    sim.set_faults(FaultPlan({method: MethodFaults(raise_=True)}))
    with pytest.raises(BackendError, match=method):
        call(sim, journal)
    assert journal.recorded == []
    assert (sim.volume_ids(), sim.snapshot_ids()) == state


@pytest.mark.parametrize("method", JOURNALED)
def test_model_status_knob(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, _ = _setup(method, sim)
    status = ERROR_STATUS[method][0]
    sim.set_faults(FaultPlan({method: MethodFaults(model_status=status)}))
    model, members = call(sim, journal)
    assert model is not None and model.status == status
    assert members is not None and [m.status for m in members] == [NORMAL[method][1]] * 3
    assert len(journal.done) == len(journal.recorded) >= 3  # the work was done


@pytest.mark.parametrize("method", JOURNALED)
def test_model_update_knob(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, _ = _setup(method, sim)
    sim.set_faults(FaultPlan({method: MethodFaults(model_update=False)}))
    model, members = call(sim, journal)
    assert model is None
    assert members is not None


@pytest.mark.parametrize("method", JOURNALED)
def test_member_status_knob(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, ids = _setup(method, sim)
    status = ERROR_STATUS[method][1]
    sim.set_faults(FaultPlan({method: MethodFaults(member_status=status)}))
    model, members = call(sim, journal)
    assert model is not None and model.status == NORMAL[method][0]  # the manager derives the rest
    assert members is not None
    assert [(m.id, m.status) for m in members] == [
        (ids[0], status),
        (ids[1], NORMAL[method][1]),
        (ids[2], NORMAL[method][1]),
    ]


@pytest.mark.parametrize("method", JOURNALED)
def test_member_updates_knob(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, _ = _setup(method, sim)
    sim.set_faults(FaultPlan({method: MethodFaults(member_updates=False)}))
    model, members = call(sim, journal)
    assert model is not None and model.status == NORMAL[method][0]
    assert members is None


@pytest.mark.parametrize("method", JOURNALED)
def test_knobs_combine(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, _ = _setup(method, sim)
    faults = MethodFaults(model_status="error", member_updates=False)
    sim.set_faults(FaultPlan({method: faults}))
    model, members = call(sim, journal)
    assert model is not None and model.status == "error"
    assert members is None


@pytest.mark.parametrize("method", JOURNALED)
def test_fail_member_knob_leaves_rollback_to_the_journal(
    sim: SimBackend, journal: Recorder, method: str
) -> None:
    call, ids = _setup(method, sim)
    state = (sim.volume_ids(), sim.snapshot_ids())
    sim.set_faults(FaultPlan({method: MethodFaults(fail_member=2)}))
    with pytest.raises(BackendError, match="member #2"):
        call(sim, journal)
    # every member was recorded in one batch, none marked done; member 1 was done, member 2
    # failed, member 3 never started
    members_recorded = [s for s in journal.recorded if s.action != "sim.create_group"]
    assert [next(iter(s.params.values())) for s in members_recorded] == ids
    assert journal.batches == 1 and journal.done == []
    if method.startswith("create"):
        assert (sim.volume_ids() | sim.snapshot_ids()) - (state[0] | state[1]) == {ids[0]}
        journal.rollback(sim)
        assert (sim.volume_ids(), sim.snapshot_ids()) == state
        journal.rollback(sim)  # idempotent
        assert (sim.volume_ids(), sim.snapshot_ids()) == state
    else:
        gone = set(state[0] | state[1]) - (sim.volume_ids() | sim.snapshot_ids())
        assert gone == {ids[0]}  # deletes roll forward: re-running finishes them
        sim.set_faults(FaultPlan())
        call(sim, Recorder())
        assert not (set(ids) & (sim.volume_ids() | sim.snapshot_ids()))


@pytest.mark.parametrize("error", list(ERRORS))
@pytest.mark.parametrize("method", JOURNALED)
def test_group_methods_raise_the_error_the_plan_names(
    sim: SimBackend, journal: Recorder, method: str, error: str
) -> None:
    """A typed error raised in the middle of a group call reaches the caller as it is (not
    flattened into a BackendError or a model status), with the steps recorded for rollback."""
    call, ids = _setup(method, sim)
    sim.set_faults(FaultPlan({method: MethodFaults(fail_member=2, error=error)}))
    with pytest.raises(ERRORS[error], match="member #2") as info:
        call(sim, journal)
    assert type(info.value) is ERRORS[error]
    assert len(journal.recorded) >= len(ids) and journal.done == []
    sim.set_faults(FaultPlan({method: MethodFaults(raise_=True, error=error)}))
    with pytest.raises(ERRORS[error], match=method) as info:
        call(sim, Recorder())
    assert type(info.value) is ERRORS[error]


@pytest.mark.parametrize("method", JOURNALED)
@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_crash_at_step(sim: SimBackend, journal: Recorder, method: str, crash_at: int) -> None:
    call, ids = _setup(method, sim)
    state = (sim.volume_ids(), sim.snapshot_ids())
    sim.set_faults(FaultPlan({method: MethodFaults(crash_at_step=crash_at)}))
    with pytest.raises(SimulatedCrash, match=f"step #{crash_at}"):
        try:
            call(sim, journal)
        except Exception:  # the manager's handler must not see a crash
            pytest.fail("SimulatedCrash was caught by `except Exception`")
    # the whole batch was recorded before any work, and nothing is marked done
    assert len(journal.recorded) == len(ids) + (method == "create_group_from_src")
    assert journal.done == []
    # the work of the steps up to the crash was done (create_group_from_src's step 1 is the group)
    members_done = crash_at - (method == "create_group_from_src")
    changed = (state[0] | state[1]) ^ (sim.volume_ids() | sim.snapshot_ids())
    assert changed == set(ids[:members_done])
    # recovery: a restarted manager reverts creations, re-runs deletes
    sim.set_faults(FaultPlan())
    if method.startswith("create"):
        journal.rollback(sim)
        assert (sim.volume_ids(), sim.snapshot_ids()) == state
    else:
        call(sim, Recorder())
        assert (sim.volume_ids() | sim.snapshot_ids()) < (state[0] | state[1])


def test_steps_are_recorded_before_the_crash_with_their_params(
    sim: SimBackend, journal: Recorder
) -> None:
    volumes = [make_volume(sim)]
    gs = make_group_snapshot(make_group())
    snapshots = snapshots_of(volumes, gs)
    sim.set_faults(FaultPlan({"create_group_snapshot": MethodFaults(crash_at_step=1)}))
    with pytest.raises(SimulatedCrash):
        sim.create_group_snapshot(gs, snapshots, journal)
    assert journal.recorded == [Step("sim.create_snapshot", {"snapshot_id": snapshots[0].id})]
    assert sim.has_snapshot(snapshots[0].id)  # the work was done before the crash
