"""base64url without padding, the encoding of every binary field on the wire (CRYPTO.md §1)."""

from __future__ import annotations

import base64
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode unpadded base64url; raise ``ValueError`` on anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_b64url(text: str, *, nbytes: int | None = None) -> bool:
    """True when ``text`` is unpadded base64url (of exactly ``nbytes`` bytes, if given)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return False
    if nbytes is None:
        return True
    return len(text) == (nbytes * 4 + 2) // 3 and _canonical_tail(text)


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# With 2 (or 1) bytes left over, the last character carries 2 (or 4) unused low bits, which
# must be zero so that one value has one spelling. Checked without decoding (a hot path).
_TAIL_OK = {
    2: frozenset(c for i, c in enumerate(_ALPHABET) if i % 16 == 0),
    3: frozenset(c for i, c in enumerate(_ALPHABET) if i % 4 == 0),
}


def _canonical_tail(text: str) -> bool:
    allowed = _TAIL_OK.get(len(text) % 4)
    return allowed is None or text[-1] in allowed
