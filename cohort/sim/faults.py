"""The simulated backend's fault plan: per backend method, independent knobs.

Parsed from the `[backend.sim.faults.<method>]` TOML tables::

    [backend.sim.faults.delete_group]
    raise = false                   # raise `error` at the start of the method
    model_status = "error_deleting" # model_update.status to return (absent: the normal one)
    model_update = true             # false: return None as the model update
    member_status = "error"         # status of the FIRST member's update (absent: normal)
    member_updates = true           # false: return None as the member updates
    fail_member = 2                 # raise `error` while doing member #2 (1-based)
    crash_at_step = 3               # raise SimulatedCrash right after step #3 did its work
    error = "no_space"              # what raise and fail_member raise (see ERRORS; default
                                    # "backend": a BackendError)
    delay = 2.5                     # sleep 2.5 s at the start of the method, holding no lock
                                    # (other calls, reads and changes, proceed meanwhile)

Which knobs a method accepts depends on what it returns (see `KNOBS`); an unknown method, knob or
value is a ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cohort.domain.model import GroupStatus, SnapshotStatus, VolumeStatus
from cohort.errors import BackendError, Busy, CohortError, ResourceExhausted


class SimulatedCrash(BaseException):
    """Raised by the simulated backend to stand for a process crash in the middle of an
    operation. A BaseException, so the manager's `except Exception` does not handle it."""


VOLUME_METHODS = (
    "create_volume",
    "create_volume_from_snapshot",
    "create_cloned_volume",
    "extend_volume",
    "delete_volume",
    "create_snapshot",
    "delete_snapshot",
)
GROUP_METHODS = (
    "create_group",
    "update_group",
    "delete_group",
    "create_group_from_src",
    "create_group_snapshot",
    "delete_group_snapshot",
)
METHODS = VOLUME_METHODS + GROUP_METHODS

#: The errors the `error` knob names, as the LVM adapter classifies them (cohort.lvm.errors).
ERRORS: dict[str, type[CohortError]] = {
    "backend": BackendError,
    "no_space": ResourceExhausted,
    "busy": Busy,
}

_ALL_KNOBS = (
    "raise",
    "error",
    "delay",
    "model_status",
    "model_update",
    "member_status",
    "member_updates",
    "fail_member",
    "crash_at_step",
)
#: The knobs each method accepts.
KNOBS: dict[str, tuple[str, ...]] = {
    **{m: ("raise", "error", "delay") for m in VOLUME_METHODS},
    "create_group": ("raise", "error", "delay", "model_status", "model_update"),
    "update_group": (
        "raise",
        "error",
        "delay",
        "model_status",
        "model_update",
        "member_status",
        "member_updates",
        "fail_member",
    ),
    "delete_group": _ALL_KNOBS,
    "create_group_from_src": _ALL_KNOBS,
    "create_group_snapshot": _ALL_KNOBS,
    "delete_group_snapshot": _ALL_KNOBS,
}

_GROUP_STATUSES = tuple(s.value for s in GroupStatus)
_SNAPSHOT_STATUSES = tuple(s.value for s in SnapshotStatus)
_VOLUME_STATUSES = tuple(s.value for s in VolumeStatus)
#: Allowed values of model_status and member_status per method.
MODEL_STATUSES: dict[str, tuple[str, ...]] = {
    "create_group": _GROUP_STATUSES,
    "update_group": _GROUP_STATUSES,
    "delete_group": _GROUP_STATUSES,
    "create_group_from_src": _GROUP_STATUSES,
    "create_group_snapshot": _SNAPSHOT_STATUSES,
    "delete_group_snapshot": _SNAPSHOT_STATUSES,
}
MEMBER_STATUSES: dict[str, tuple[str, ...]] = {
    "update_group": _VOLUME_STATUSES,
    "delete_group": _VOLUME_STATUSES,
    "create_group_from_src": _VOLUME_STATUSES,
    "create_group_snapshot": _SNAPSHOT_STATUSES,
    "delete_group_snapshot": _SNAPSHOT_STATUSES,
}


@dataclass(frozen=True, slots=True)
class MethodFaults:
    """The knobs for one method. The defaults mean "no fault"."""

    raise_: bool = False
    error: str = "backend"
    delay: float = 0.0
    model_status: str | None = None
    model_update: bool = True
    member_status: str | None = None
    member_updates: bool = True
    fail_member: int | None = None
    crash_at_step: int | None = None

    @classmethod
    def parse(cls, method: str, table: Mapping[str, object]) -> MethodFaults:
        where = f"backend.sim.faults.{method}"
        if not isinstance(table, Mapping):
            raise ValueError(f"[{where}] must be a table, not {type(table).__name__}")
        allowed = KNOBS[method]
        values: dict[str, object] = {}
        for knob, value in table.items():
            if knob not in _ALL_KNOBS:
                raise ValueError(f"[{where}] unknown knob {knob!r}; known: {', '.join(_ALL_KNOBS)}")
            if knob not in allowed:
                raise ValueError(
                    f"[{where}] knob {knob!r} does not apply to {method}; "
                    f"it takes: {', '.join(allowed)}"
                )
            if knob in ("raise", "model_update", "member_updates"):
                if not isinstance(value, bool):
                    raise ValueError(f"[{where}] {knob} must be true or false, got {value!r}")
            elif knob == "delay":
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"[{where}] delay must be a number of seconds, got {value!r}")
                value = float(value)
            elif knob == "error":
                if value not in ERRORS:
                    raise ValueError(
                        f"[{where}] error must be one of {', '.join(ERRORS)}; got {value!r}"
                    )
            elif knob in ("fail_member", "crash_at_step"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(
                        f"[{where}] {knob} must be a positive integer (1-based), got {value!r}"
                    )
            else:
                statuses = (MODEL_STATUSES if knob == "model_status" else MEMBER_STATUSES)[method]
                if value not in statuses:
                    raise ValueError(
                        f"[{where}] {knob} must be one of {', '.join(statuses)}; got {value!r}"
                    )
            values["raise_" if knob == "raise" else knob] = value
        return cls(**values)  # type: ignore[arg-type]

    def failure(self, message: str) -> CohortError:
        """The error `raise` and `fail_member` raise."""
        return ERRORS[self.error](message)

    @property
    def active(self) -> bool:
        return self != MethodFaults()


_NO_FAULTS = MethodFaults()


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Faults per method name; methods not named have none."""

    methods: Mapping[str, MethodFaults] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for method in self.methods:
            if method not in METHODS:
                raise ValueError(f"unknown backend method {method!r} in the fault plan")

    def for_method(self, method: str) -> MethodFaults:
        return self.methods.get(method, _NO_FAULTS)

    @classmethod
    def parse(cls, tables: Mapping[str, object]) -> FaultPlan:
        """From the `[backend.sim.faults]` table: one sub-table per method."""
        if not isinstance(tables, Mapping):
            raise ValueError(f"[backend.sim.faults] must be a table, not {type(tables).__name__}")
        methods: dict[str, MethodFaults] = {}
        for method, table in tables.items():
            if method not in METHODS:
                raise ValueError(
                    f"[backend.sim.faults] unknown method {method!r}; known: {', '.join(METHODS)}"
                )
            if not isinstance(table, Mapping):
                raise ValueError(
                    f"[backend.sim.faults.{method}] must be a table, not {type(table).__name__}"
                )
            methods[method] = MethodFaults.parse(method, table)
        return cls(methods)
