"""`MemoryTargets`: the `Targets` port in memory, for the simulated backend and host tests.

It keeps what LIO would hold (targets with their LUN, serial and ACLs, enabled or not) and checks
what LIO would refuse: a second target on one device, a publish without a device. `login` answers
what an initiator's login would get, so tests can ask the questions they would ask of LIO.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cohort.domain.exports import ExportPlane, Portal, TargetSpec
from cohort.errors import BackendError


def loopback() -> Sequence[Portal]:
    """One portal on 127.0.0.1 (the default of a memory target)."""
    return (Portal("127.0.0.1"),)


@dataclass(frozen=True, slots=True)
class HeldTarget:
    spec: TargetSpec
    enabled: bool = True


class MemoryTargets:
    def __init__(self, prefix: str, portals: Callable[[], Sequence[Portal]] = loopback) -> None:
        self.prefix = prefix
        self._portals = portals
        self._lock = threading.Lock()
        self.targets: dict[str, HeldTarget] = {}
        #: Every publish / withdraw / disable, in order (what a test may count).
        self.calls: list[tuple[str, str]] = []

    def portals(self) -> Sequence[Portal]:
        return self._portals()

    def publish(self, spec: TargetSpec) -> None:
        if not spec.device:
            raise BackendError(f"target {spec.iqn}: no device to export")
        with self._lock:
            for iqn, held in self.targets.items():
                if iqn != spec.iqn and held.spec.device == spec.device:
                    raise BackendError(f"{spec.device} is exported already by {iqn}")
            self.targets[spec.iqn] = HeldTarget(spec)
            self.calls.append(("publish", spec.iqn))

    def withdraw(self, iqn: str) -> None:
        with self._lock:
            self.targets.pop(iqn, None)
            self.calls.append(("withdraw", iqn))

    def present(self) -> Sequence[str]:
        with self._lock:
            return [iqn for iqn in self.targets if iqn.startswith(self.prefix)]

    def disable(self, iqn: str) -> None:
        with self._lock:
            held = self.targets.get(iqn)
            if held is not None:
                self.targets[iqn] = replace(held, enabled=False)
            self.calls.append(("disable", iqn))

    def login(self, iqn: str, initiator: str, username: str, password: str) -> bool:
        """Whether LIO would let this initiator log in to this target with these credentials."""
        with self._lock:
            held = self.targets.get(iqn)
        if held is None or not held.enabled:
            return False
        return any(
            acl.initiator == initiator
            and (acl.credentials.username, acl.credentials.password) == (username, password)
            for acl in held.spec.acls
        )


def memory_plane(prefix: str = "iqn.2026-12.org.cohort") -> ExportPlane:
    """Exports to a `MemoryTargets`, secrets sealed with a key that lives as long as the
    process (the simulated backend's plane, and the default of a manager built without one)."""
    from cohort.iscsi.secrets import Sealer, new_credentials

    return ExportPlane(
        targets=MemoryTargets(f"{prefix}:"),
        sealer=Sealer(os.urandom(32)),
        new_credentials=new_credentials,
        iqn_prefix=prefix,
    )
