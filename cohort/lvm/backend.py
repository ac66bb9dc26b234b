"""`LvmBackend`: cohort's `Backend` on a thin LVM pool, each volume behind its own gate.

The backend is built in layers, one concept a module: `cohort.lvm.volumes` (volumes, snapshots,
gates, capacity, the journal's `revert`), `cohort.lvm.groups` (the group operations, batched
through one `lvm` process) and, here, construction from the configuration and start-up.

- A full pool: the pool is set to `--errorwhenfull y` (I/O to a full pool fails at once instead
  of queueing for 60 s: an error, not a hang), and new allocations are refused with
  ResourceExhausted when the pool's data or metadata use reaches `full_threshold_percent`. (The
  over-subscription ratio is the manager's rule, from `[backend] max_over_subscription_ratio`.)
- No lock of cohort's: LVM's own VG lock is the only serialisation LVM's writes need. Every
  command, and every group batch, runs in a process of its own, so a read (`lvs` for stats or
  the inventory) never waits behind a batch, only for LVM's VG lock while one command holds it.
  The manager's reservations keep two calls off one object, and it counts provisioned capacity
  atomically with its reservations; the pool threshold check here is best effort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import structlog

from cohort.errors import BackendError
from cohort.freeze.guard_client import GuardClient
from cohort.freeze.hooks import DirHooks
from cohort.freeze.protocol import Freeze, Hooks, NoHooks
from cohort.freeze.settings import DEFAULT_FREEZE, FreezeSettings
from cohort.lvm import hygiene, repair
from cohort.lvm.dmioctl import DmGates
from cohort.lvm.embedded import DEFAULT_SIZE, POOL_NAME, VG_NAME, EmbeddedPool
from cohort.lvm.errors import edge
from cohort.lvm.freeze import LvmFreeze
from cohort.lvm.groups import LvmGroups
from cohort.lvm.report import parse_pvs, pvs_argv
from cohort.lvm.run import CommandRunner, Runner

log = structlog.get_logger("cohort.lvm.backend")

_CONFIG_KEYS = {
    "volume_group",
    "thin_pool",
    "embedded_size_bytes",
    "full_threshold_percent",
    "command_timeout_seconds",
    "manage_lvm_config",
    "filter_accept",
    "volume_backend_name",
}


class LvmBackend(LvmGroups):
    """See the module docstring."""

    def __init__(
        self,
        runner: Runner,
        vg: str,
        pool: str,
        *,
        name: str = "lvm",
        full_threshold_percent: float = 90.0,
        embedded: EmbeddedPool | None = None,
        manage_lvm_config: bool = True,
        filter_accept: Sequence[str] = (),
        lvm_dir: Path = hygiene.LVM_DIR,
        freezer: Freeze | None = None,
        command_timeout: float = 120.0,
    ) -> None:
        super().__init__(runner, vg, pool, full_threshold_percent=full_threshold_percent)
        if freezer is not None:
            self.freeze = LvmFreeze(
                self.lvm, self.gates, freezer, runner.recorder, command_timeout=command_timeout
            )
        self.name = name
        self.embedded = embedded
        self.manage_lvm_config = manage_lvm_config
        self.filter_accept = tuple(filter_accept)
        self.lvm_dir = lvm_dir

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        section: Mapping[str, object],
        state_dir: Path,
        *,
        start: bool = True,
        freeze: FreezeSettings = DEFAULT_FREEZE,
    ) -> LvmBackend:
        unknown = set(section) - _CONFIG_KEYS
        if unknown:
            raise ValueError(f"[backend.lvm] unknown keys: {', '.join(sorted(unknown))}")

        def text(key: str) -> str:
            value = section.get(key, "")
            if not isinstance(value, str):
                raise ValueError(f"[backend.lvm] {key} must be a string, got {value!r}")
            return value

        def number(key: str, default: float) -> float:
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"[backend.lvm] {key} must be a positive number, got {value!r}")
            return float(value)

        vg, pool = text("volume_group"), text("thin_pool")
        if bool(vg) != bool(pool):
            raise ValueError("[backend.lvm] volume_group and thin_pool go together (or neither)")
        threshold = number("full_threshold_percent", 90.0)
        if threshold > 100:
            raise ValueError("[backend.lvm] full_threshold_percent must be at most 100")
        accept = section.get("filter_accept", [])
        if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
            raise ValueError("[backend.lvm] filter_accept must be a list of device paths")
        manage = section.get("manage_lvm_config", True)
        if not isinstance(manage, bool):
            raise ValueError("[backend.lvm] manage_lvm_config must be true or false")
        runner = CommandRunner(timeout=number("command_timeout_seconds", 120.0))
        embedded = None
        if not vg:
            vg, pool = VG_NAME, POOL_NAME
            embedded = EmbeddedPool(
                runner, state_dir, int(number("embedded_size_bytes", DEFAULT_SIZE))
            )
        backend = cls(
            runner,
            vg,
            pool,
            name=text("volume_backend_name") or "lvm",
            full_threshold_percent=threshold,
            embedded=embedded,
            manage_lvm_config=manage,
            filter_accept=accept,
            freezer=_freezer(freeze),
            command_timeout=number("command_timeout_seconds", 120.0),
        )
        if start:
            backend.start()
        return backend

    def start(self) -> None:
        """Resume suspended gates (first of all), attach the embedded pool, install LVM
        hygiene, check the pool, resume its suspended LVs through LVM and check its transaction
        id (`cohort.lvm.repair`), activate cohort's LVs and recreate missing gates. Safe to run
        at every start."""
        with edge("lvm backend start"):
            repair.resume_gates(self.gates)
            loop = self.embedded.attach() if self.embedded else None
            if self.manage_lvm_config:
                pvs = [loop] if loop else self._vg_pvs()
                hygiene.install(self.runner, [*pvs, *self.filter_accept], lvm_dir=self.lvm_dir)
            if self.embedded and loop:
                self.embedded.ensure_vg(self.lvm, loop)
            pool = self.lvm.pool_lv()
            if not pool.attr.thin_pool:
                raise BackendError(f"{pool.full_name} is not a thin pool")
            repair.resume_suspended_lvs(self.lvm)
            self.pool_problem = repair.check_pool_transaction(self.lvm)
            if pool.when_full != "error":
                log.warning("thin pool queued I/O when full; setting --errorwhenfull y")
                self.lvm.error_when_full()
            self.lvm.activate_tagged()
            self._extent = self.lvm.vg_info().extent_size
            self.ensure_gates()

    def _vg_pvs(self) -> list[str]:
        out = self.runner.run(pvs_argv()).stdout
        return [pv.name for pv in parse_pvs(out) if pv.vg == self.lvm.vg]


def _freezer(settings: FreezeSettings) -> Freeze:
    """The real freeze: gates by device-mapper ioctls, `cohort-guard` as the deadline guard."""
    hooks: Hooks = DirHooks(Path(settings.test_hooks_dir)) if settings.test_hooks_dir else NoHooks()
    guard = GuardClient(settings.guard_socket)
    return Freeze(DmGates(), guard, settings.deadline_seconds, hooks)
