"""cohortd's config: defaults, TOML, environment overrides, validation, --check-config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cohort.daemon import config as cfg
from cohort.daemon.config import Config, ConfigError, from_mapping, load
from cohort.daemon.main import main
from cohort.daemon.runtime import policy
from cohort.freeze.settings import FreezeSettings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cohortd.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_conventions() -> None:
    c = from_mapping({}, {})
    assert c.server.socket == "/run/cohort/cohortd.sock"
    assert c.server.socket_mode_bits == 0o660 and c.server.grace_seconds == 10
    assert c.server.tcp_address == "" and c.state.directory == "/var/lib/cohort"
    assert c.metrics.address == "127.0.0.1:9464" and c.logging.level == "info"
    assert c.upstream.endpoints == () and c.upstream.interval_seconds == 60
    assert (c.backend.kind, c.backend.name) == ("sim", "cohort")
    assert c.backend.max_over_subscription_ratio == 20.0 and c.backend.reserved_percentage == 0
    assert c.freeze == FreezeSettings(
        deadline_seconds=10.0,
        max_group_volumes=12,
        guard_socket="/run/cohort-guard/guard.sock",
        test_hooks_dir="",
    )


def test_freeze_section_from_toml_and_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [freeze]
        deadline_seconds = 5
        max_group_volumes = 8
        test_hooks_dir = "/run/cohort-test-hooks"
        """,
    )
    c = load(path, {"COHORT_FREEZE_GUARD_SOCKET": "/tmp/guard.sock"})
    assert c.freeze == FreezeSettings(5.0, 8, "/tmp/guard.sock", "/run/cohort-test-hooks")
    assert policy(c).max_consistent_group_volumes == 8
    assert policy(c).max_group_volumes == c.backend.max_group_volumes == 256


def test_toml_and_backend_tables_pass_through(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [server]
        socket = "/tmp/x.sock"
        grace_seconds = 3
        [upstream]
        endpoints = ["a:1", "b:2"]
        [backend]
        kind = "sim"
        reserved_percentage = 5
        [backend.sim]
        capacity_bytes = 1024
        [backend.sim.faults.delete_group]
        raise = true
        [backend.lvm]
        volume_group = "vg0"
        """,
    )
    c = load(path, {})
    assert c.server.socket == "/tmp/x.sock" and c.server.grace_seconds == 3.0
    assert c.upstream.endpoints == ("a:1", "b:2")
    assert c.backend.reserved_percentage == 5
    assert c.backend.section() == {
        "capacity_bytes": 1024,
        "faults": {"delete_group": {"raise": True}},
    }
    assert c.backend.section("lvm") == {"volume_group": "vg0"}
    with pytest.raises(TypeError):
        c.backend.sim["x"] = 1  # type: ignore[index]


def test_environment_overrides_coerce_to_the_default_type(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nsocket = "/from/file.sock"\n')
    env = {
        "COHORT_SERVER_SOCKET": "/from/env.sock",
        "COHORT_SERVER_GRACE_SECONDS": "2.5",
        "COHORT_BACKEND_RESERVED_PERCENTAGE": "10",
        "COHORT_BACKEND_MAX_OVER_SUBSCRIPTION_RATIO": "1.5",
        "COHORT_UPSTREAM_ENDPOINTS": "a:1, b:2",
        "COHORT_METRICS_ADDRESS": "",
        "COHORT_LOGGING_LEVEL": "debug",
    }
    c = load(path, env)
    assert c.server.socket == "/from/env.sock" and c.server.grace_seconds == 2.5
    assert c.backend.reserved_percentage == 10 and c.backend.max_over_subscription_ratio == 1.5
    assert c.upstream.endpoints == ("a:1", "b:2")
    assert c.metrics.address == "" and c.logging.level == "debug"


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        ({}, {"COHORT_BACKEND_RESERVED_PERCENTAGE": "ten"}, "expected an integer"),
        ({"server": {"grace_seconds": "soon"}}, {}, "expected a number"),
        ({"server": {"tcp_adress": "x"}}, {}, "unknown key(s) in [server]: tcp_adress"),
        ({"sevrer": {}}, {}, "unknown config section(s): sevrer"),
        ({"server": {"tcp_address": "0.0.0.0:50051"}}, {}, "only served with TLS"),
        ({"server": {"socket_mode": "rw"}}, {}, "not octal"),
        ({"server": {"tls_client_ca": "/ca.pem"}}, {}, "tcp_address is not"),
        ({"metrics": {"address": "9464"}}, {}, "is not host:port"),
        ({"logging": {"level": "loud"}}, {}, "[logging] level"),
        ({"upstream": {"interval_seconds": 0}}, {}, "interval_seconds"),
        ({"upstream": {"endpoints": ["nohost"]}}, {}, "[upstream] endpoints"),
        ({"backend": {"reserved_percentage": 101}}, {}, "reserved_percentage"),
        ({"backend": {"max_over_subscription_ratio": 0.5}}, {}, "max_over_subscription_ratio"),
        ({"backend": {"sim": 3}}, {}, "[backend] sim must be a table"),
        ({"freeze": {"deadline_seconds": 0}}, {}, "[freeze] deadline_seconds must be > 0"),
        ({"freeze": {"deadline_seconds": 60}}, {}, "[freeze] deadline_seconds must be > 0"),
        ({}, {"COHORT_FREEZE_DEADLINE_SECONDS": "-1"}, "[freeze] deadline_seconds"),
        ({"freeze": {"max_group_volumes": 0}}, {}, "[freeze] max_group_volumes must be >= 1"),
        ({"freeze": {"max_group_volumes": 2.5}}, {}, "expected an integer"),
        ({"freeze": {"guard_socket": ""}}, {}, "[freeze] guard_socket must be set"),
        ({"freeze": {"deadline": 5}}, {}, "unknown key(s) in [freeze]: deadline"),
    ],
)
def test_invalid_configs_are_refused_with_a_clear_message(
    raw: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(raw, env)
    assert message in str(info.value)


def test_tcp_with_tls_files_is_accepted(tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    server = {
        "tcp_address": "127.0.0.1:0",
        "tls_cert": str(tmp_path / "cert.pem"),
        "tls_key": str(tmp_path / "key.pem"),
    }
    assert from_mapping({"server": server}, {}).server.tcp_address == "127.0.0.1:0"
    with pytest.raises(ConfigError, match="tls_key"):
        from_mapping({"server": {**server, "tls_key": str(tmp_path / "missing")}}, {})


def test_config_path_precedence() -> None:
    assert cfg.config_path("/a.toml", {"COHORT_CONFIG": "/b.toml"}) == Path("/a.toml")
    assert cfg.config_path(None, {"COHORT_CONFIG": "/b.toml"}) == Path("/b.toml")
    assert cfg.config_path(None, {}) == cfg.DEFAULT_PATH


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", {})
    with pytest.raises(ConfigError, match="cannot read"):
        load(write(tmp_path, "[server\n"), {})


def test_check_config_prints_the_effective_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[backend.sim]\ncapacity_bytes = 5\n")
    monkeypatch.setenv("COHORT_CONFIG", str(path))
    monkeypatch.setenv("COHORT_SERVER_GRACE_SECONDS", "4")
    assert main(["--check-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["server"]["grace_seconds"] == 4.0
    assert printed["backend"]["sim"] == {"capacity_bytes": 5}
    assert (
        printed
        == Config(
            server=cfg.ServerConfig(grace_seconds=4.0),
            backend=cfg.BackendConfig(sim={"capacity_bytes": 5}),
        ).as_dict()
    )


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[server]\ntcp_address = "0.0.0.0:1"\n')
    assert main(["--config", str(path), "--check-config"]) == 2
    assert "only served with TLS" in capsys.readouterr().err
