from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.errors import InvalidArgument
from cohort.store import SqlStore, SqlTransaction
from cohort.store.paging import SEQ_MAX, SEQ_MIN, decode_token, encode_token

#: Every repository's name on a transaction: each one pages.
REPOSITORIES = (
    "volume_types",
    "group_types",
    "volumes",
    "snapshots",
    "groups",
    "group_snapshots",
    "operations",
)


def any_text_token(text: str) -> str:
    """A token made the way ours are, around any text (the version and the digits included)."""
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


#: Strings a client might send: anything, and well-formed tokens around any integer.
TOKENS = st.one_of(
    st.text(max_size=80),
    st.integers().map(lambda n: any_text_token(f"v1:{n}")),
    st.integers(min_value=SEQ_MAX - 2, max_value=SEQ_MAX + 2).map(encode_token),
    st.text(alphabet="v1:-+0123456789 ", max_size=30).map(any_text_token),
)


@given(st.integers(min_value=SEQ_MIN, max_value=SEQ_MAX))
def test_tokens_round_trip(seq: int) -> None:
    token = encode_token(seq)
    assert decode_token(token) == seq
    assert token.isascii() and "=" not in token


@given(TOKENS)
def test_any_string_is_a_seq_or_invalid_argument(token: str) -> None:
    try:
        seq = decode_token(token)
    except InvalidArgument as exc:
        assert str(exc) == "invalid page_token"
    else:
        assert token == "" or (encode_token(seq) == token and SEQ_MIN <= seq <= SEQ_MAX)


def test_empty_token_is_the_first_page() -> None:
    assert decode_token("") == 0


@pytest.mark.parametrize("seq", [0, 1, 12345])
def test_tampered_tokens_are_refused(seq: int) -> None:
    token = encode_token(seq)
    for bad in (token + "A", token[:-1], token + "=", "x" + token, token.upper() + "!"):
        if bad != token:
            with pytest.raises(InvalidArgument):
                decode_token(bad)


@pytest.mark.parametrize("seq", [SEQ_MIN - 1, -1, SEQ_MAX + 1, 2**64, 10**40])
def test_seqs_a_store_cannot_hold_are_refused(seq: int) -> None:
    with pytest.raises(InvalidArgument, match="invalid page_token"):
        decode_token(any_text_token(f"v1:{seq}"))


@pytest.mark.parametrize("repository", REPOSITORIES)
def test_largest_seq_is_an_empty_page_and_one_more_is_invalid(
    store: SqlStore, repository: str
) -> None:
    with store.transaction(readonly=True) as tx:
        page = getattr(tx, repository).page(5, encode_token(SEQ_MAX))
        assert page.items == [] and page.next_page_token == ""
        with pytest.raises(InvalidArgument, match="invalid page_token"):
            getattr(tx, repository).page(5, encode_token(SEQ_MAX + 1))


def test_any_token_on_every_repository_is_a_page_or_invalid_argument(file_store: SqlStore) -> None:
    @given(TOKENS, st.sampled_from(REPOSITORIES))
    def check(token: str, repository: str) -> None:
        tx: SqlTransaction
        with file_store.transaction(readonly=True) as tx:
            try:
                page = getattr(tx, repository).page(5, token)
            except InvalidArgument as exc:
                assert str(exc) == "invalid page_token"
            else:
                assert page.items == [] and page.next_page_token == ""

    check()
