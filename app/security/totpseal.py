"""TOTP secrets sealed at rest (issue 13 (1), (4)): AES-256-GCM under a key from the server secret.

The database keeps ``v1.`` + base64url(nonce ‖ ciphertext ‖ tag), never the base32 secret. The
key is HKDF-SHA256 of the server secret (``app.security.secret``, in the key directory, never in
the database) with its own label, so it is never the key of a session or login-name digest. The
account's staff id is the associated data: a sealed secret copied onto another account does not
open there. Whoever reads the database learns no TOTP secret; whoever writes it cannot put one
there that a login would accept (a value that does not open is a wrong code).
"""

from __future__ import annotations

import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.kit import b64

PREFIX: Final = "v1."
NONCE_BYTES: Final = 12
_INFO: Final = b"vh/server/totp-at-rest/v1"
_AD: Final = b"vh/totp/v1\x00"


def totp_key(server_secret: bytes) -> bytes:
    """The AES-256-GCM key of the sealed TOTP secrets, derived from the server secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=_INFO).derive(
        server_secret
    )


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal(server_secret: bytes, staff_id: str, totp_secret: str) -> str:
    """What ``staff.totp_secret`` keeps of ``totp_secret`` for the account ``staff_id``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(totp_key(server_secret)).encrypt(
        nonce, totp_secret.encode("ascii"), _AD + staff_id.encode("ascii")
    )
    return PREFIX + b64.encode(nonce + sealed)


def unseal(server_secret: bytes, staff_id: str, stored: str) -> str | None:
    """The TOTP secret of ``staff_id`` from its stored value, or None when it does not open
    (not sealed, sealed for another account or under another server secret, or altered)."""
    if not is_sealed(stored):
        return None
    try:
        raw = b64.decode(stored[len(PREFIX) :])
    except ValueError:
        return None
    if len(raw) <= NONCE_BYTES + 16:
        return None
    try:
        plain = AESGCM(totp_key(server_secret)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _AD + staff_id.encode("ascii")
        )
    except InvalidTag:
        return None
    return plain.decode("ascii", errors="replace")
