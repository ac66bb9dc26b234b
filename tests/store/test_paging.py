from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.errors import InvalidArgument
from cohort.store.paging import decode_token, encode_token


@given(st.integers(min_value=0, max_value=2**63))
def test_tokens_round_trip(seq: int) -> None:
    token = encode_token(seq)
    assert decode_token(token) == seq
    assert token.isascii() and "=" not in token


@given(st.text(max_size=80))
def test_any_string_is_a_seq_or_invalid_argument(token: str) -> None:
    try:
        seq = decode_token(token)
    except InvalidArgument as exc:
        assert str(exc) == "invalid page_token"
    else:
        assert encode_token(seq) == token or token == ""


def test_empty_token_is_the_first_page() -> None:
    assert decode_token("") == 0


@pytest.mark.parametrize("seq", [0, 1, 12345])
def test_tampered_tokens_are_refused(seq: int) -> None:
    token = encode_token(seq)
    for bad in (token + "A", token[:-1], token + "=", "x" + token, token.upper() + "!"):
        if bad != token:
            with pytest.raises(InvalidArgument):
                decode_token(bad)
