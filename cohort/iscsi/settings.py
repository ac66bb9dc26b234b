"""The operator's export settings: cohortd's `[exports]` config section."""

from __future__ import annotations

from dataclasses import dataclass

#: Where cohort's targets are named from: `<iqn_prefix>:<volume|snapshot>-<id>`.
DEFAULT_IQN_PREFIX = "iqn.2026-12.org.cohort"


@dataclass(frozen=True, slots=True)
class ExportSettings:
    #: "lio" (the kernel's target, through rtslib-fb) or "memory" (in-process, for the simulated
    #: backend); empty: "lio" with the LVM backend, "memory" with the simulated one.
    target: str = ""
    iqn_prefix: str = DEFAULT_IQN_PREFIX
    #: Portal addresses ("192.0.2.10", "192.0.2.11:3261", "[2001:db8::1]"), listed first.
    portals: tuple[str, ...] = ("127.0.0.1",)
    #: Interfaces whose addresses become portals too, looked up (pyroute2) at each export.
    interfaces: tuple[str, ...] = ()
    #: The port of a portal that names none.
    port: int = 3260
    #: The key that seals CHAP secrets in the store (32 bytes, root's only, made at the first
    #: start); empty: `exports.key` in the state directory. Kept apart from the store (e.g. in
    #: /etc/cohort), a copy of the store alone reveals no secret.
    key_file: str = ""


#: The settings of a `cohortd.toml` without an `[exports]` section.
DEFAULT_EXPORTS = ExportSettings()
