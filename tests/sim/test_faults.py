"""The fault plan: parsing, and each knob's effect on the answers of every method."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from cohort.domain.backend import GroupResult, MemberUpdate, ModelUpdate, Step
from cohort.domain.model import Snapshot, Volume
from cohort.errors import BackendError
from cohort.sim import FaultPlan, MethodFaults, SimBackend, SimulatedCrash
from cohort.sim.faults import GROUP_METHODS, METHODS, VOLUME_METHODS
from tests.recorder import Recorder

from .helpers import MiB, make_group, make_group_snapshot, make_volume, snapshots_of

# -- parsing --------------------------------------------------------------------------------


def test_parse_from_toml() -> None:
    config = tomllib.loads(
        """
        [backend.sim]
        capacity_bytes = 1073741824
        consistent_group_snapshot = false

        [backend.sim.faults.delete_group]
        raise = false
        model_status = "error_deleting"
        member_status = "error"
        member_updates = false
        fail_member = 2
        crash_at_step = 3

        [backend.sim.faults.create_volume]
        raise = true
        """
    )
    sim = SimBackend.from_config(config["backend"]["sim"])
    assert sim.capacity_bytes == 1 << 30
    assert not sim.consistent_group_snapshot
    assert sim.faults.for_method("delete_group") == MethodFaults(
        raise_=False,
        model_status="error_deleting",
        member_status="error",
        member_updates=False,
        fail_member=2,
        crash_at_step=3,
    )
    assert sim.faults.for_method("create_volume") == MethodFaults(raise_=True)
    assert sim.faults.for_method("delete_volume") == MethodFaults()
    assert not MethodFaults().active


def test_from_config_defaults() -> None:
    sim = SimBackend.from_config({})
    assert sim.capacity_bytes == 100 << 30
    assert sim.consistent_group_snapshot
    assert sim.name == "sim"
    assert sim.faults == FaultPlan()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"capacity": 1}, "unknown key 'capacity'"),
        ({"capacity_bytes": 0}, "capacity_bytes must be a positive integer"),
        ({"capacity_bytes": "1G"}, "capacity_bytes must be a positive integer"),
        ({"capacity_bytes": True}, "capacity_bytes must be a positive integer"),
        ({"consistent_group_snapshot": "yes"}, "consistent_group_snapshot must be true or false"),
        ({"state_file": ""}, "state_file must be a non-empty string"),
        ({"max_provisioned_bytes": -1}, "max_provisioned_bytes must be a positive integer"),
        ({"faults": []}, "faults must be a table"),
        ({"faults": {"delete_grup": {}}}, "unknown method 'delete_grup'"),
        ({"faults": {"delete_group": 1}}, r"\[backend.sim.faults.delete_group\] must be a table"),
        ({"faults": {"delete_group": {"rase": True}}}, "unknown knob 'rase'"),
        ({"faults": {"delete_group": {"raise": 1}}}, "raise must be true or false"),
        ({"faults": {"delete_group": {"member_updates": "no"}}}, "member_updates must be true"),
        ({"faults": {"delete_group": {"fail_member": 0}}}, "fail_member must be a positive"),
        ({"faults": {"delete_group": {"crash_at_step": True}}}, "crash_at_step must be a positive"),
        ({"faults": {"delete_group": {"model_status": "broken"}}}, "model_status must be one of"),
        (
            {"faults": {"create_group_snapshot": {"member_status": "in-use"}}},
            "member_status must be one of",
        ),
        ({"faults": {"create_volume": {"model_status": "error"}}}, "does not apply to create_vol"),
        ({"faults": {"create_group": {"fail_member": 1}}}, "does not apply to create_group"),
        ({"faults": {"update_group": {"crash_at_step": 1}}}, "does not apply to update_group"),
    ],
)
def test_bad_config_is_a_value_error(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimBackend.from_config(section)


def test_fault_plan_rejects_unknown_methods() -> None:
    with pytest.raises(ValueError, match="frobnicate"):
        FaultPlan({"frobnicate": MethodFaults()})


# -- volume methods -------------------------------------------------------------------------


def _call_volume_method(sim: SimBackend, method: str) -> None:
    volume = make_volume(sim)
    snapshot = Snapshot(name="s", volume_id=volume.id, size_bytes=volume.size_bytes)
    sim.set_faults(FaultPlan())
    sim.create_snapshot(snapshot, volume)
    sim.set_faults(FaultPlan({method: MethodFaults(raise_=True)}))
    new = Volume(name="n", size_bytes=MiB, volume_type_id="t")
    calls: dict[str, Callable[[], object]] = {
        "create_volume": lambda: sim.create_volume(new),
        "create_volume_from_snapshot": lambda: sim.create_volume_from_snapshot(new, snapshot),
        "create_cloned_volume": lambda: sim.create_cloned_volume(new, volume),
        "extend_volume": lambda: sim.extend_volume(volume, 64 * MiB),
        "delete_volume": lambda: sim.delete_volume(volume),
        "create_snapshot": lambda: sim.create_snapshot(
            Snapshot(name="t", volume_id=volume.id, size_bytes=0), volume
        ),
        "delete_snapshot": lambda: sim.delete_snapshot(snapshot),
    }
    calls[method]()


@pytest.mark.parametrize("method", VOLUME_METHODS)
def test_raise_knob_on_volume_methods(sim: SimBackend, method: str) -> None:
    with pytest.raises(BackendError, match=method):
        _call_volume_method(sim, method)
    # nothing was done: the volume is there, not extended, snapshot kept, no new volume
    assert len(sim.volume_ids()) == 1
    assert len(sim.snapshot_ids()) == 1
    (volume_id,) = sim.volume_ids()
    assert sim.volume_size(volume_id) == 8 * MiB


# -- group methods --------------------------------------------------------------------------

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
    assert model == ModelUpdate(status=NORMAL[method][0])
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
    assert model == ModelUpdate(status=status)
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
    assert model == ModelUpdate(status=NORMAL[method][0])  # the manager derives the rest
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
    assert model == ModelUpdate(status=NORMAL[method][0])
    assert members is None


@pytest.mark.parametrize("method", JOURNALED)
def test_knobs_combine(sim: SimBackend, journal: Recorder, method: str) -> None:
    call, _ = _setup(method, sim)
    faults = MethodFaults(model_status="error", member_updates=False)
    sim.set_faults(FaultPlan({method: faults}))
    assert call(sim, journal) == (ModelUpdate(status="error"), None)


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


def test_update_group_knobs(sim: SimBackend) -> None:
    group = make_group()
    adds = [make_volume(sim), make_volume(sim)]
    removes = [make_volume(sim)]

    def run(**knobs: Any) -> Any:
        sim.set_faults(FaultPlan({"update_group": MethodFaults(**knobs)}))
        return sim.update_group(group, adds, removes)

    assert run(model_status="error")[0] == ModelUpdate(status="error")
    assert run(model_update=False)[0] is None
    _, added, removed = run(member_status="error")
    assert added == [MemberUpdate(id=adds[0].id, status="error"), MemberUpdate(id=adds[1].id)]
    assert removed == [MemberUpdate(id=removes[0].id, status="error")]
    assert run(member_updates=False) == (ModelUpdate(status="available"), None, None)
    with pytest.raises(BackendError, match=f"member #3: volume {removes[0].id}"):
        run(fail_member=3)
    with pytest.raises(BackendError, match="update_group"):
        run(raise_=True)


def test_create_group_knobs(sim: SimBackend) -> None:
    group = make_group()
    sim.set_faults(FaultPlan({"create_group": MethodFaults(model_status="error")}))
    assert sim.create_group(group) == ModelUpdate(status="error")
    sim.set_faults(FaultPlan({"create_group": MethodFaults(model_update=False)}))
    assert sim.create_group(group) is None
    sim.set_faults(FaultPlan({"create_group": MethodFaults(raise_=True)}))
    with pytest.raises(BackendError):
        sim.create_group(make_group())


def test_every_method_is_covered() -> None:
    assert set(METHODS) == set(VOLUME_METHODS) | set(GROUP_METHODS)
    assert len(METHODS) == 13


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
