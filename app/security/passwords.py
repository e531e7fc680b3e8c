"""Password hashing (argon2id, SECURITY R-8) and the password policy."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128

# OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verified against when the account does not exist, so unknown users cost the same.
_DUMMY_HASH = _HASHER.hash("virtual-house-dummy-password")


class WeakPassword(ValueError):
    pass


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-cost check: pass ``None`` for an unknown account and it still costs one verify."""
    try:
        _HASHER.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def check_policy(password: str, *, username: str = "") -> None:
    """Raise ``WeakPassword`` with a reason a person can act on."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"use at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _common_passwords() or (username and username.lower() in lowered):
        raise WeakPassword("this password is too common or contains the username")


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("app.security").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())
