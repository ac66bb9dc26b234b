"""No secret reaches a log line: the `redact_secrets` processor in cohortd's logging set-up."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from cohort.daemon import logs
from cohort.domain.exports import AclSpec, Credentials
from cohort.redaction import REDACTED, redact, redact_argv, scrub
from cohort.v1 import exports_pb2

SECRET = "Zq8rT2mVx0bN4kLs"
CONNECTION_JSON = json.dumps(
    {
        "driver_volume_type": "iscsi",
        "data": {"auth_method": "CHAP", "auth_username": "user1", "auth_password": SECRET},
    }
)


@pytest.fixture
def configured(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """cohortd's logging, restored afterwards. Each test calls `logs.configure` itself: it binds
    the stderr of the moment, and capsys' stderr in the test is not the one of its set-up."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    err = capsys.readouterr().err
    assert SECRET not in err
    return [json.loads(line) for line in err.splitlines()]


def connection() -> exports_pb2.Connection:
    return exports_pb2.Connection(
        driver_volume_type="iscsi",
        data=exports_pb2.IscsiProperties(
            target_iqn="iqn.2024-01.org.cohort:volume-1",
            auth_method="CHAP",
            auth_username="user1",
            auth_password=SECRET,
        ),
        connection_info_json=CONNECTION_JSON,
    )


def test_keys_naming_secrets_credentials_and_nested_values_are_withheld(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("debug")
    structlog.get_logger("test").info(
        "exported",
        credentials=Credentials("user1", SECRET),
        acl=AclSpec("iqn.2024-01.org.example:host", Credentials("user1", SECRET)),
        Password=SECRET,
        nested={"auth": [{"chap_password": SECRET, "userid": "user1"}, {"CHAP_SECRET": SECRET}]},
        connection=connection(),
        connection_info_json=CONNECTION_JSON,
        argv=["iscsiadm", "--password", SECRET, f"password={SECRET}"],
        size=3,
    )
    (line,) = lines(capsys)
    assert line["event"] == "exported"
    assert line["credentials"] == REDACTED
    assert line["Password"] == REDACTED
    assert line["nested"] == {
        "auth": [{"chap_password": REDACTED, "userid": "user1"}, {"CHAP_SECRET": REDACTED}]
    }
    data = line["connection"]["data"]  # type: ignore[index]
    assert data["auth_password"] == REDACTED
    assert data["auth_username"] == "user1"  # what is not secret stays readable
    assert json.loads(str(line["connection_info_json"]))["data"]["auth_password"] == REDACTED
    assert line["argv"] == ["iscsiadm", "--password", REDACTED, f"password={REDACTED}"]
    assert line["size"] == 3
    assert "user1" in str(line["acl"])


def test_a_traceback_carrying_a_secret_is_scrubbed(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("debug")
    try:
        raise RuntimeError(f"login refused: {CONNECTION_JSON}")
    except RuntimeError:
        structlog.get_logger("test").exception("export failed")
    (line,) = lines(capsys)
    assert REDACTED in str(line["exception"])


def test_records_of_stdlib_loggers_are_scrubbed(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("debug")
    logging.getLogger("some.library").warning("connecting with password=%s", SECRET)
    (line,) = lines(capsys)
    assert line["event"] == f"connecting with password={REDACTED}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'{{"auth_password": "{SECRET}"}}', f'{{"auth_password": "{REDACTED}"}}'),
        (f"{{'password': '{SECRET}'}}", f"{{'password': '{REDACTED}'}}"),
        (f'auth_password: "{SECRET}"', f'auth_password: "{REDACTED}"'),
        (f'{{\\"auth_password\\": \\"{SECRET}\\"}}', f'{{\\"auth_password\\": \\"{REDACTED}\\"}}'),
        (f"node.session.auth.password={SECRET} x", f"node.session.auth.password={REDACTED} x"),
        (f"a=1&chap_secret={SECRET}&b=2", f"a=1&chap_secret={REDACTED}&b=2"),
        (f"Access(chap_secret_sealed='v1:{SECRET}')", f"Access(chap_secret_sealed='{REDACTED}')"),
        ("the wrong password was refused", "the wrong password was refused"),
        ("auth_method=CHAP user=admin", "auth_method=CHAP user=admin"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_redact_walks_containers_and_keeps_other_values() -> None:
    assert redact({"a": (1, None, True), "b": {"passwd": 1}}) == {
        "a": [1, None, True],
        "b": {"passwd": REDACTED},
    }
    assert redact(Credentials("u", SECRET)) == REDACTED


def test_redact_argv() -> None:
    argv = ["tool", "--chap-password", SECRET, "--name", "x", f"--secret={SECRET}", "-v", "y"]
    assert redact_argv(argv) == (
        "tool",
        "--chap-password",
        REDACTED,
        "--name",
        "x",
        f"--secret={REDACTED}",
        "-v",
        "y",
    )
