"""cohortd's configuration: TOML -> frozen dataclasses, with `COHORT_<SECTION>_<KEY>` overrides.

Defaults are those of docs/CONVENTIONS.md. An environment override is coerced to the type of the
key's default (lists are comma separated, booleans true/false/1/0/yes/no). Unknown sections and
keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cohort.domain import validation
from cohort.errors import CohortError
from cohort.freeze.settings import MAX_DEADLINE_SECONDS, FreezeSettings
from cohort.iscsi.settings import ExportSettings

DEFAULT_PATH = Path("/etc/cohort/cohortd.toml")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(Exception):
    """The configuration is unreadable or invalid; cohortd refuses to start."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    socket: str = "/run/cohort/cohortd.sock"
    socket_mode: str = "0660"
    socket_owner: str = ""
    socket_group: str = ""
    tcp_address: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    grace_seconds: float = 10.0

    @property
    def socket_mode_bits(self) -> int:
        return int(self.socket_mode, 8)


@dataclass(frozen=True, slots=True)
class StateConfig:
    directory: str = "/var/lib/cohort"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    address: str = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = "info"


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    endpoints: tuple[str, ...] = ()
    interval_seconds: float = 60.0
    # TLS to the upstream receivers: tls_ca set => TLS; tls_cert/tls_key => client certificate.
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class BackendConfig:
    kind: str = "sim"
    #: volume_backend_name, and the policy the manager derives Cinder's capacity stats with.
    name: str = "cohort"
    max_over_subscription_ratio: float = 20.0
    reserved_percentage: int = 0
    max_group_volumes: int = 256
    #: The `[backend.<kind>]` tables, passed through to the backend factories as they are.
    sim: Mapping[str, Any] = field(default_factory=_empty)
    lvm: Mapping[str, Any] = field(default_factory=_empty)

    def section(self, kind: str | None = None) -> Mapping[str, Any]:
        table: Mapping[str, Any] = getattr(self, kind or self.kind, _empty())
        return table


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    state: StateConfig = field(default_factory=StateConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    #: Consistent group snapshots and clones of groups (cohort.freeze).
    freeze: FreezeSettings = field(default_factory=FreezeSettings)
    #: iSCSI exports (cohort.iscsi).
    exports: ExportSettings = field(default_factory=ExportSettings)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for `cohortd --check-config`)."""
        plain: dict[str, Any] = _plain(self)
        return plain


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_PASSTHROUGH = {"sim", "lvm"}  # mapping-valued keys of [backend]


def config_path(argument: str | None, environ: Mapping[str, str]) -> Path:
    """--config wins over COHORT_CONFIG, which wins over the default path."""
    return Path(argument or environ.get("COHORT_CONFIG") or DEFAULT_PATH)


def load(path: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read `path` (None or a missing default path: defaults only), apply overrides, validate."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            if path != DEFAULT_PATH:
                raise ConfigError(f"config file {path} not found") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return from_mapping(raw, env)


def from_mapping(raw: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    sections: dict[str, Any] = {}
    for sec in fields(Config):
        table = raw.get(sec.name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{sec.name}] must be a table")
        sections[sec.name] = _section(sec.name, sec.default_factory, table, environ)
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(unknown)}")
    config = Config(**sections)
    validate(config)
    return config


def _section(name: str, cls: Any, table: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    default = cls()
    known = {f.name for f in fields(default)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for f in fields(default):
        dflt = getattr(default, f.name)
        where = f"[{name}] {f.name}"
        if f.name in _PASSTHROUGH:
            table_value = table.get(f.name, {})
            if not isinstance(table_value, Mapping):
                raise ConfigError(f"{where} must be a table")
            values[f.name] = MappingProxyType(dict(table_value))
            continue
        env_key = f"COHORT_{name.upper()}_{f.name.upper()}"
        if env_key in env:
            values[f.name] = _from_env(env[env_key], dflt, env_key)
        elif f.name in table:
            values[f.name] = _typed(table[f.name], dflt, where)
    return cls(**values)


def _typed(value: Any, default: Any, where: str) -> Any:
    """Check a TOML value against the type of the key's default."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(default)}, got {value!r}")
    return value


def _from_env(text: str, default: Any, env_key: str) -> Any:
    """Coerce an environment value to the type of the key's default."""
    try:
        if isinstance(default, bool):
            low = text.strip().lower()
            if low not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(text)
            return low in {"1", "true", "yes", "on"}
        if isinstance(default, float):
            return float(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{env_key}: expected {_type_name(default)}, got {text!r}") from None
    return text


def _type_name(default: Any) -> str:
    if isinstance(default, tuple):
        return "a list of strings"
    return {bool: "a boolean", float: "a number", int: "an integer"}.get(type(default), "a string")


def validate(config: Config) -> None:
    """Refuse configurations that cannot work, with a message naming the key."""
    srv = config.server
    if not srv.socket:
        raise ConfigError("[server] socket must be set: the unix socket is always served")
    try:
        mode = srv.socket_mode_bits
    except ValueError:
        raise ConfigError(f"[server] socket_mode {srv.socket_mode!r} is not octal") from None
    if not 0 <= mode <= 0o777:
        raise ConfigError(f"[server] socket_mode {srv.socket_mode!r} is out of range")
    if srv.tcp_address:
        _host_port(srv.tcp_address, "[server] tcp_address")
        if not (srv.tls_cert and srv.tls_key):
            raise ConfigError(
                "[server] tcp_address is set but tls_cert/tls_key are not: "
                "TCP is only served with TLS"
            )
    elif srv.tls_client_ca:
        raise ConfigError("[server] tls_client_ca is set but tcp_address is not")
    for key in ("tls_cert", "tls_key", "tls_client_ca"):
        path = getattr(srv, key)
        if path and srv.tcp_address and not Path(path).is_file():
            raise ConfigError(f"[server] {key}: {path} is not a readable file")
    if srv.grace_seconds < 0:
        raise ConfigError("[server] grace_seconds must be >= 0")
    if not config.state.directory:
        raise ConfigError("[state] directory must be set")
    if config.metrics.address:
        _host_port(config.metrics.address, "[metrics] address")
    if config.logging.level.lower() not in LOG_LEVELS:
        raise ConfigError(f"[logging] level must be one of {', '.join(LOG_LEVELS)}")
    up = config.upstream
    for endpoint in up.endpoints:
        _host_port(endpoint, "[upstream] endpoints")
    if up.interval_seconds <= 0:
        raise ConfigError("[upstream] interval_seconds must be > 0")
    if (up.tls_cert or up.tls_key) and not (up.tls_ca and up.tls_cert and up.tls_key):
        raise ConfigError("[upstream] a client certificate needs tls_ca, tls_cert and tls_key")
    be = config.backend
    if not be.kind:
        raise ConfigError("[backend] kind must be set")
    if not be.name:
        raise ConfigError("[backend] name must be set")
    if be.max_over_subscription_ratio < 1.0:
        raise ConfigError("[backend] max_over_subscription_ratio must be >= 1.0")
    if not 0 <= be.reserved_percentage <= 100:
        raise ConfigError("[backend] reserved_percentage must be between 0 and 100")
    if be.max_group_volumes < 1:
        raise ConfigError("[backend] max_group_volumes must be >= 1")
    fr = config.freeze
    if not 0 < fr.deadline_seconds < MAX_DEADLINE_SECONDS:
        raise ConfigError(
            f"[freeze] deadline_seconds must be > 0 and below {MAX_DEADLINE_SECONDS:g}"
        )
    if fr.max_group_volumes < 1:
        raise ConfigError("[freeze] max_group_volumes must be >= 1")
    if not fr.guard_socket:
        raise ConfigError("[freeze] guard_socket must be set")
    _validate_exports(config.exports)


def _validate_exports(ex: ExportSettings) -> None:
    if ex.target not in ("", "lio", "memory"):
        raise ConfigError(f"[exports] target must be lio or memory, not {ex.target!r}")
    try:
        validation.iscsi_name(ex.iqn_prefix, "[exports] iqn_prefix")
    except CohortError as exc:
        raise ConfigError(str(exc)) from None
    if not ex.iqn_prefix.startswith("iqn.") or ":" in ex.iqn_prefix:
        raise ConfigError("[exports] iqn_prefix must be an iqn. name without a ':' part")
    if not 0 < ex.port <= 65535:
        raise ConfigError("[exports] port must be between 1 and 65535")


def _host_port(address: str, where: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where}: {address!r} is not host:port")
    return host.strip("[]"), int(port)


def split_host_port(address: str) -> tuple[str, int]:
    """("127.0.0.1", 9464) from "127.0.0.1:9464" (IPv6 hosts in brackets)."""
    return _host_port(address, "address")
