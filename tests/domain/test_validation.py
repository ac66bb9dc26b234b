"""Input validation: names, descriptions, sizes, ids, spec maps, page sizes, references."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.domain import validation as v
from cohort.errors import InvalidArgument

NAME_CHARS = "abcxyzABCXYZ0189._-:@ "


@pytest.mark.parametrize(
    "good",
    ["a", "vol-1", "my volume", "db.data_01", "user@host:x", "x-", "a" * 255, "0-_"],
)
def test_good_names(good: str) -> None:
    assert v.name(good) == good


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("", "must not be empty"),
        ("a" * 256, "at most 255"),
        ("-rf", "must not begin with '-'"),
        ("--force", "must not begin with '-'"),
        (" lead", "must not begin or end with a space"),
        ("trail ", "must not begin or end with a space"),
        ("a/b", "contains '/'"),
        ("a\nb", "contains '\\\\n'"),
        ("tab\there", "contains '\\\\t'"),
        ("nul\x00", "contains '\\\\x00'"),
        ("semi;colon", "contains ';'"),
        ("dollar$", "contains '\\$'"),
        ("héllo", "contains 'é'"),
    ],
)
def test_bad_names(bad: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason):
        v.name(bad, "volume name")


@given(st.uuids(), st.booleans())
def test_names_of_the_form_of_an_id_are_refused(value: uuid.UUID, upper: bool) -> None:
    text = str(value).upper() if upper else str(value)
    assert v.has_id_form(text)
    with pytest.raises(InvalidArgument, match=r"^volume name '.*' has the form of an id"):
        v.name(text, "volume name")


@pytest.mark.parametrize(
    "near", ["0b9f6c1e-3f4a-4c2d-9e2a-2f6d1c0a7b1", "0b9f6c1e3f4a4c2d9e2a2f6d1c0a7b11", "id-0b9f"]
)
def test_names_near_an_id_are_names(near: str) -> None:
    assert v.name(near) == near


def test_name_names_the_field() -> None:
    with pytest.raises(InvalidArgument, match=r"^group name must not be empty$"):
        v.name("", "group name")
    with pytest.raises(InvalidArgument, match="must be a string"):
        v.name(3)  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_no_accepted_name_is_dangerous(text: str) -> None:
    try:
        accepted = v.name(text)
    except InvalidArgument:
        return
    assert 1 <= len(accepted) <= 255
    assert not accepted.startswith("-")
    assert accepted == accepted.strip()
    assert "/" not in accepted
    assert all(ch.isprintable() and ch.isascii() for ch in accepted)


@given(st.text(alphabet=NAME_CHARS, min_size=1, max_size=255))
def test_names_of_allowed_characters_are_accepted_unless_edgy(text: str) -> None:
    edgy = text.startswith("-") or text != text.strip(" ") or v.has_id_form(text)
    try:
        v.name(text)
    except InvalidArgument:
        assert edgy
    else:
        assert not edgy


def test_description() -> None:
    assert v.description("") == ""
    assert v.description("A database volume, 3 replicas (ünïcode ok)") != ""
    assert v.description("x" * 1024)
    with pytest.raises(InvalidArgument, match="at most 1024"):
        v.description("x" * 1025)
    for bad in ("line\nbreak", "tab\t", "bell\x07", "del\x7f", "c1\x85"):
        with pytest.raises(InvalidArgument, match="control character"):
            v.description(bad)


@given(st.text(max_size=1100))
def test_accepted_descriptions_have_no_control_chars(text: str) -> None:
    try:
        accepted = v.description(text)
    except InvalidArgument:
        return
    assert len(accepted) <= 1024
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in accepted)


def test_size_bytes() -> None:
    assert v.size_bytes(1) == 1
    assert v.size_bytes(1 << 50) == 1 << 50
    for bad, reason in [
        (0, "greater than 0"),
        (-1, "greater than 0"),
        ((1 << 50) + 1, "1 PiB"),
        (True, "must be an integer"),
        (1.5, "must be an integer"),
    ]:
        with pytest.raises(InvalidArgument, match=reason):
            v.size_bytes(bad, "size_bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="new_size_bytes"):
        v.size_bytes(0, "new_size_bytes")


def test_object_id() -> None:
    good = str(uuid.uuid4())
    assert v.object_id(good) == good
    assert v.is_object_id(good)
    for bad in (
        "",
        good.upper(),
        good.replace("-", ""),
        "{" + good + "}",
        good + " ",
        "urn:uuid:" + good,
        "vol-1",
    ):
        with pytest.raises(InvalidArgument, match="volume_id"):
            v.object_id(bad, "volume_id")
        assert not v.is_object_id(bad)


@given(st.uuids())
def test_every_canonical_uuid_is_an_id(value: uuid.UUID) -> None:
    assert v.object_id(str(value)) == str(value)


def test_spec_map() -> None:
    specs = {
        "volume_backend_name": "sim",
        "capabilities:thin_provisioning_support": "<is> True",
        "qos.read-iops": "",
        "a_b.c:d-e": "s== x y",
    }
    assert v.spec_map(specs, "extra_specs") == specs
    assert v.spec_map({f"k{i}": "v" for i in range(64)})


@pytest.mark.parametrize(
    ("specs", "reason"),
    [
        ({"": "x"}, "key must not be empty"),
        ({"k" * 256: "x"}, "at most 255"),
        ({"-k": "x"}, "must not begin with '-'"),
        ({"a b": "x"}, "only letters, digits"),
        ({"a/b": "x"}, "only letters, digits"),
        ({"k": "v" * 256}, "at most 255"),
        ({"k": "a\nb"}, "control character"),
        ({f"k{i}": "v" for i in range(65)}, "at most 64"),
        ({"k": 1}, "must be a string"),
    ],
)
def test_bad_spec_maps(specs: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidArgument, match=f"extra_specs.*{reason}"):
        v.spec_map(specs, "extra_specs")


def test_page_size() -> None:
    assert v.page_size(0) == 100
    assert v.page_size(1) == 1
    assert v.page_size(1000) == 1000
    for bad in (-1, 1001, True):
        with pytest.raises(InvalidArgument, match="page_size"):
            v.page_size(bad)


def test_ref() -> None:
    good = str(uuid.uuid4())
    assert v.ref(good) == good
    assert v.ref("my group", "group") == "my group"
    with pytest.raises(InvalidArgument, match="group must not be empty"):
        v.ref("", "group")
    with pytest.raises(InvalidArgument, match="must not begin with '-'"):
        v.ref("-x", "group")
    with pytest.raises(InvalidArgument, match="contains '/'"):
        v.ref("../etc", "group")
    with pytest.raises(InvalidArgument, match="not a canonical UUID: ids are lowercase"):
        v.ref(good.upper(), "group")
