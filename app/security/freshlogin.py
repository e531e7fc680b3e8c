"""The fresh-login proof (issue 13 (1)): a short-lived token the server signs at a password+TOTP
login or re-authentication, and asks for before it certifies a new counsellor device.

It replaced reading the session's ``created_at`` from the database, which anyone able to write a
``staff_sessions`` row could set to "now". The token is HMAC-SHA-256 under a key derived from the
server secret (the key directory, never the database) over its purpose, the staff id, the
session's digest and the time it was issued; it is good for ``lifetime`` seconds, for that staff
member's that session only. Nothing of it is stored: the server checks it by recomputing it.

Form: ``v1.<issued unix seconds>.<base64url MAC>``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.kit import b64

VERSION: Final = "v1"
#: What the token proves: a fresh login, for registering a device. Another use gets another.
DEVICE_PURPOSE: Final = "register-device"
_INFO: Final = b"vh/server/fresh-login/v1"
#: A token issued this far in the future (clock steps between processes) is still taken.
SKEW_SECONDS: Final = 30


def _key(server_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=_INFO).derive(
        server_secret
    )


def _mac(server_secret: bytes, purpose: str, staff_id: str, session: str, issued: int) -> str:
    message = "\x00".join((VERSION, purpose, staff_id, session, str(issued))).encode("utf-8")
    return b64.encode(hmac.new(_key(server_secret), message, hashlib.sha256).digest())


def issue(
    server_secret: bytes,
    *,
    staff_id: str,
    session_digest: str,
    now: float,
    purpose: str = DEVICE_PURPOSE,
) -> str:
    """The proof that ``staff_id`` logged in with password and code at ``now`` in the session
    whose stored digest is ``session_digest``."""
    issued = int(now)
    return f"{VERSION}.{issued}.{_mac(server_secret, purpose, staff_id, session_digest, issued)}"


def valid(
    server_secret: bytes,
    token: str | None,
    *,
    staff_id: str,
    session_digest: str,
    now: float,
    lifetime: float,
    purpose: str = DEVICE_PURPOSE,
) -> bool:
    """Whether ``token`` is this server's proof of a login of ``staff_id`` in this session, for
    ``purpose``, issued no more than ``lifetime`` seconds ago."""
    if not token or len(token) > 128:
        return False
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not parts[1].isdigit() or len(parts[1]) > 12:
        return False
    issued = int(parts[1])
    if not (now - lifetime <= issued <= now + SKEW_SECONDS):
        return False
    expected = _mac(server_secret, purpose, staff_id, session_digest, issued)
    return hmac.compare_digest(expected.encode("ascii"), parts[2].encode("ascii", "replace"))
