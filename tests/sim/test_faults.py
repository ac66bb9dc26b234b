"""The fault plan: parsing, and each knob's effect on the answers of every method."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from cohort.domain.backend import MemberUpdate, ModelUpdate
from cohort.domain.model import Snapshot, Volume
from cohort.errors import BackendError
from cohort.sim import FaultPlan, MethodFaults, SimBackend, pool
from cohort.sim.faults import ERRORS, GROUP_METHODS, METHODS, VOLUME_METHODS
from tests.held import Hold, proceeds_while_held
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
        error = "busy"
        delay = 2

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
        error="busy",
        delay=2.0,
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
        ({"faults": {"delete_group": {"error": "full"}}}, "error must be one of backend, no_space"),
        ({"faults": {"delete_group": {"delay": -1}}}, "delay must be a number of seconds"),
        ({"faults": {"create_volume": {"delay": "1s"}}}, "delay must be a number of seconds"),
        ({"faults": {"create_volume": {"delay": True}}}, "delay must be a number of seconds"),
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


def _call_volume_method(sim: SimBackend, method: str, error: str = "backend") -> None:
    volume = make_volume(sim)
    snapshot = Snapshot(name="s", volume_id=volume.id, size_bytes=volume.size_bytes)
    sim.set_faults(FaultPlan())
    sim.create_snapshot(snapshot, volume)
    sim.set_faults(FaultPlan({method: MethodFaults(raise_=True, error=error)}))
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


@pytest.mark.parametrize("error", list(ERRORS))
@pytest.mark.parametrize("method", VOLUME_METHODS)
def test_raise_knob_on_volume_methods(sim: SimBackend, method: str, error: str) -> None:
    with pytest.raises(ERRORS[error], match=method) as info:
        _call_volume_method(sim, method, error)
    assert type(info.value) is ERRORS[error]
    # nothing was done: the volume is there, not extended, snapshot kept, no new volume
    assert len(sim.volume_ids()) == 1
    assert len(sim.snapshot_ids()) == 1
    (volume_id,) = sim.volume_ids()
    assert sim.volume_size(volume_id) == 8 * MiB


# -- the unjournaled group methods (the journaled ones: test_group_faults.py) ----------------


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


# -- the delay ------------------------------------------------------------------------------


def test_delay_sleeps_holding_no_lock(sim: SimBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a call sleeps its `delay`, reads and changes of other objects complete."""
    volumes = [make_volume(sim, name=f"v{i}") for i in range(2)]
    other = make_volume(sim, name="other")
    group_snapshot = make_group_snapshot(make_group())
    snapshots = snapshots_of(volumes, group_snapshot)
    hold, slept = Hold(), []

    def held_sleep(seconds: float) -> None:
        slept.append(seconds)
        hold.here()

    monkeypatch.setattr(pool, "sleep", held_sleep)
    sim.set_faults(FaultPlan({"create_group_snapshot": MethodFaults(delay=2.5)}))

    def meanwhile() -> None:
        sim.stats()
        sim.inventory()
        sim.extend_volume(other, 16 * MiB)
        sim.create_snapshot(Snapshot(name="o", volume_id=other.id, size_bytes=0), other)
        sim.write(volumes[0].id, 0, b"during")
        sim.create_volume(Volume(name="n", size_bytes=MiB, volume_type_id="t"))

    proceeds_while_held(
        hold,
        lambda: sim.create_group_snapshot(group_snapshot, snapshots, Recorder()),
        meanwhile,
    )
    assert slept == [2.5]
    assert {s.id for s in snapshots} <= sim.snapshot_ids()
    assert sim.read(snapshots[0].id, 0, 6) == b"during"  # taken after the delay
    assert sim.volume_size(other.id) == 16 * MiB and len(sim.volume_ids()) == 4
