"""The exports key file, sealing CHAP secrets at rest, and generated credentials."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.iscsi.secrets import (
    ALPHABET,
    KEY_BYTES,
    PASSWORD_LENGTH,
    USERNAME_LENGTH,
    VERSION,
    Sealer,
    SecretKeyError,
    load_or_create_key,
    new_credentials,
)

ACCESS = "access-1"
#: One sealer for the property test (hypothesis does not mix with function-scoped fixtures).
SEALER = Sealer(bytes(range(KEY_BYTES)))


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "etc" / "cohort" / "exports.key"


def test_a_missing_key_file_is_created_private_in_a_private_directory(key_file: Path) -> None:
    key = load_or_create_key(key_file)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert key_file.read_bytes() == key
    assert [p.name for p in key_file.parent.iterdir()] == ["exports.key"]  # no temporary left
    assert load_or_create_key(key_file) == key  # loaded, not made again


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    load_or_create_key(tmp_path / "exports.key")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_the_key_is_created_whatever_the_umask(key_file: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_key(key_file)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_key_made_by_another_process_meanwhile_is_not_overwritten(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = b"t" * KEY_BYTES
    real_link = os.link

    def racing_link(source: str, destination: Path) -> None:
        destination.write_bytes(theirs)
        destination.chmod(0o600)
        real_link(source, destination)

    key_file.parent.mkdir(parents=True)
    monkeypatch.setattr(os, "link", racing_link)
    assert load_or_create_key(key_file) == theirs
    assert list(key_file.parent.iterdir()) == [key_file]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_file_others_may_read_or_write_is_refused(key_file: Path, mode: int) -> None:
    load_or_create_key(key_file)
    key_file.chmod(mode)
    with pytest.raises(SecretKeyError, match=f"mode {mode:04o}"):
        load_or_create_key(key_file)


def test_a_key_file_of_another_user_is_refused(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_or_create_key(key_file)
    monkeypatch.setattr(os, "geteuid", lambda: key_file.stat().st_uid + 1)
    with pytest.raises(SecretKeyError, match="owned by uid"):
        load_or_create_key(key_file)


@pytest.mark.parametrize("size", [0, 16, KEY_BYTES - 1, KEY_BYTES + 1, 64])
def test_a_key_file_of_the_wrong_size_is_refused(key_file: Path, size: int) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(b"k" * size)
    key_file.chmod(0o600)
    with pytest.raises(SecretKeyError, match=f"exactly {KEY_BYTES} bytes"):
        load_or_create_key(key_file)
    assert key_file.read_bytes() == b"k" * size  # never replaced


def test_a_symlink_or_a_directory_is_refused(key_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.key"
    load_or_create_key(target)
    key_file.parent.mkdir(parents=True)
    key_file.symlink_to(target)
    with pytest.raises(SecretKeyError, match=str(key_file)):
        load_or_create_key(key_file)
    directory = tmp_path / "a-directory"
    directory.mkdir(mode=0o700)
    with pytest.raises(SecretKeyError, match="not a regular file"):
        load_or_create_key(directory)


def test_a_key_file_that_cannot_be_created_is_a_secret_key_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    with pytest.raises(SecretKeyError, match="exports key file"):
        load_or_create_key(blocker / "exports.key")


def test_a_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(SecretKeyError, match="32 bytes"):
        Sealer(b"short")


def test_seal_round_trip_and_form(key_file: Path) -> None:
    sealer = Sealer.from_file(key_file)
    sealed = sealer.seal("Secret1234567890", ACCESS)
    assert sealed.startswith(VERSION)
    assert "Secret1234567890" not in sealed
    assert sealer.unseal(sealed, ACCESS) == "Secret1234567890"
    assert sealer.seal("Secret1234567890", ACCESS) != sealed  # a fresh nonce each time
    # The same key file, loaded again (a restart), opens what was sealed before.
    assert Sealer.from_file(key_file).unseal(sealed, ACCESS) == "Secret1234567890"


def test_another_key_does_not_open_it() -> None:
    sealed = SEALER.seal("Secret1234567890", ACCESS)
    with pytest.raises(SecretKeyError, match="does not open") as info:
        Sealer(b"\x01" * KEY_BYTES).unseal(sealed, ACCESS)
    assert "Secret1234567890" not in str(info.value)


def test_a_secret_copied_to_another_row_does_not_open() -> None:
    sealed = SEALER.seal("Secret1234567890", ACCESS)
    with pytest.raises(SecretKeyError, match="does not open"):
        SEALER.unseal(sealed, "access-2")


@pytest.mark.parametrize("position", [len(VERSION), len(VERSION) + 20, -3])
def test_an_altered_secret_does_not_open(position: int) -> None:
    sealed = SEALER.seal("Secret1234567890", ACCESS)
    altered = sealed[:position] + ("A" if sealed[position] != "A" else "B") + sealed[position + 1 :]
    with pytest.raises(SecretKeyError):
        SEALER.unseal(altered, ACCESS)


@pytest.mark.parametrize("sealed", ["", "Secret1234567890", "v2:AAAA", "v1:", "v1:AAAA", "v1:@@"])
def test_malformed_sealed_secrets_are_refused(sealed: str) -> None:
    with pytest.raises(SecretKeyError):
        SEALER.unseal(sealed, ACCESS)


@given(plain=st.text(max_size=300), aad=st.text(max_size=64))
def test_any_text_round_trips(plain: str, aad: str) -> None:
    assert SEALER.unseal(SEALER.seal(plain, aad), aad) == plain


def test_credentials_are_alphanumeric_of_the_chosen_lengths() -> None:
    made = [new_credentials() for _ in range(200)]
    for credentials in made:
        assert len(credentials.username) == USERNAME_LENGTH
        assert len(credentials.password) == PASSWORD_LENGTH
        assert set(credentials.username) <= set(ALPHABET)
        assert set(credentials.password) <= set(ALPHABET)
        assert credentials.password.isascii() and credentials.password.isalnum()
    assert len({c.password for c in made}) == len(made)
    assert len({c.username for c in made}) == len(made)
    assert set(ALPHABET) == set("".join(c.password for c in made))  # every character is drawn


def test_credentials_stay_within_what_initiators_accept() -> None:
    # Windows' initiator takes secrets of 12 to 16 characters; RFC 7143 asks at least 12 bytes.
    assert 12 <= PASSWORD_LENGTH <= 16
    assert USERNAME_LENGTH <= 255


def test_credentials_come_from_the_given_source() -> None:
    assert new_credentials(random.Random(7)) == new_credentials(random.Random(7))
    assert "password=<redacted>" in repr(new_credentials(random.Random(7)))
