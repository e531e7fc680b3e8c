"""Return codes (CRYPTO.md §3, §8): the code, its locator, its KEK and the wrap of ``K``.

Mirrored by ``frontend/static/js/crypto/returncode.js``. A code is 20 characters of Crockford's
base32 alphabet (100 bits); its 20 uppercase ASCII bytes are the HKDF ikm of the locator (all
the server learns) and the PBKDF2 password of the key-encryption key. Every function taking a
``code`` normalises it first, so a typed code can be passed as typed.
"""

from __future__ import annotations

import os
import re
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from app.crypto.message import hkdf, u32

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH: Final = 20
ITERATIONS: Final = 600_000
SALT_BYTES: Final = 16
NONCE_BYTES: Final = 12
KEY_BYTES: Final = 32
_IGNORED: Final = re.compile(r"[\s-]")
_LOOKALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})


class ReturnCodeError(ValueError):
    """Typed text that is not a return code, or a wrap that this code cannot open."""


def _bytes(value: bytes, length: int, name: str) -> bytes:
    if len(value) != length:
        raise ValueError(f"{name} must be {length} bytes")
    return value


def new_code() -> str:
    """A fresh code: 20 characters, 5 uniform random bits each (100 bits from ``os.urandom``)."""
    # 256 is a multiple of 32, so the low five bits of a random byte are uniform.
    return "".join(ALPHABET[b & 31] for b in os.urandom(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """The canonical code of what someone typed. Raises ``ReturnCodeError`` if it is not one.

    Whitespace and hyphens are dropped, case ignored, and Crockford's look-alikes read as digits
    (O → 0, I and L → 1). Anything else outside the alphabet (U, punctuation, non-ASCII) is
    refused rather than guessed at.
    """
    stripped = _IGNORED.sub("", text)
    if not stripped.isascii():
        raise ReturnCodeError(f"a return code is {CODE_LENGTH} letters and digits")
    code = stripped.upper().translate(_LOOKALIKES)
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise ReturnCodeError(f"a return code is {CODE_LENGTH} letters and digits")
    return code


def format_code(code: str) -> str:
    """The code in groups of four to show once (``"7K3Q 9ZC1 …"``); ``normalise_code`` undoes it."""
    canonical = normalise_code(code)
    return " ".join(canonical[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def locator(code: str) -> bytes:
    """``HKDF(ikm = code, salt = 32 zero bytes, info = "vh/v1/locator", L = 16)``."""
    return hkdf(normalise_code(code).encode("ascii"), b"", b"vh/v1/locator", 16)


def kek(code: str, salt16: bytes, iterations: int = ITERATIONS) -> bytes:
    """The 32-byte KEK: ``PBKDF2-HMAC-SHA256(code, salt16, iterations)``. Slow on purpose."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=_bytes(salt16, SALT_BYTES, "salt"),
        iterations=iterations,
    )
    return kdf.derive(normalise_code(code).encode("ascii"))


def return_aad(conv: bytes, seg: int) -> bytes:
    """``"vh/v1/wrap|R|" ‖ conv ‖ u32 seg``: the AAD of a return wrap."""
    if not 0 <= seg <= 0xFFFFFFFF:
        raise ValueError("seg must be a u32")
    return b"vh/v1/wrap|R|" + _bytes(conv, 16, "conv") + u32(seg)


def wrap_with_code(kek: bytes, nonce12: bytes, key: bytes, conv: bytes, seg: int) -> bytes:
    """``ct ‖ tag`` (48 bytes) of the segment key under the KEK (AES-256-GCM).

    The caller stores salt, nonce and the result, and must use a fresh random nonce per wrap.
    """
    aead = AESGCM(_bytes(kek, KEY_BYTES, "kek"))
    plaintext = _bytes(key, KEY_BYTES, "segment key")
    return aead.encrypt(_bytes(nonce12, NONCE_BYTES, "nonce"), plaintext, return_aad(conv, seg))


def unwrap_with_code(kek: bytes, nonce12: bytes, wrap: bytes, conv: bytes, seg: int) -> bytes:
    """The segment key of a return wrap. Raises ``ReturnCodeError`` if this KEK cannot open it."""
    aead = AESGCM(_bytes(kek, KEY_BYTES, "kek"))
    try:
        key = aead.decrypt(_bytes(nonce12, NONCE_BYTES, "nonce"), wrap, return_aad(conv, seg))
    except InvalidTag:
        raise ReturnCodeError("the return code does not open this conversation") from None
    if len(key) != KEY_BYTES:
        raise ReturnCodeError("the wrapped key is not 32 bytes")
    return key
