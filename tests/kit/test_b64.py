"""Canonical base64url only: one value, one spelling (PROTOCOL.md §4)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kit import b64


@given(st.binary(max_size=40))
def test_canonical_text_round_trips(data: bytes) -> None:
    text = b64.encode(data)
    assert b64.is_b64url(text)
    assert b64.is_b64url(text, nbytes=len(data))
    assert b64.decode(text) == data


@pytest.mark.parametrize("nbytes", [1, 2, 16, 32, 272])
def test_every_other_spelling_of_the_last_character_is_refused(nbytes: int) -> None:
    text = b64.encode(os.urandom(nbytes))
    spellings = {
        text[:-1] + c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    }
    lax = [s for s in spellings if _lax_decode(s) == b64.decode(text)]
    assert len(lax) == {0: 1, 1: 16, 2: 4}[nbytes % 3]  # what atob would all accept
    for spelling in lax:
        if spelling == text:
            continue
        assert not b64.is_b64url(spelling)
        assert not b64.is_b64url(spelling, nbytes=nbytes)
        with pytest.raises(ValueError, match="canonical"):
            b64.decode(spelling)


def _lax_decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
