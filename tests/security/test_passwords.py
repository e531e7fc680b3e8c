"""Password policy and hashing (SECURITY R-8): pure, no server."""

from __future__ import annotations

import pytest

from app.security.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    WeakPassword,
    check_policy,
    hash_password,
    verify_password,
)


def test_twelve_characters_minimum() -> None:
    assert MIN_LENGTH == 12
    with pytest.raises(WeakPassword, match="12"):
        check_policy("Tr0ub4dor&3")  # 11
    check_policy("Tr0ub4dor&3x")  # 12


def test_long_passphrases_are_accepted() -> None:
    check_policy("correct horse battery staple " * 2 + "012345")  # 64 characters
    check_policy("ü" * 64)  # characters, not bytes
    check_policy("p" * 30 + "q" * (MAX_LENGTH - 30))
    with pytest.raises(WeakPassword):
        check_policy("p" * (MAX_LENGTH + 1))


@pytest.mark.parametrize(
    "common", ["password1234", "PassWord1234", "qwertyuiop123", "123456789012"]
)
def test_common_passwords_are_refused(common: str) -> None:
    """R-8: Common passwords are refused."""
    with pytest.raises(WeakPassword, match="common"):
        check_policy(common)


def test_a_password_containing_the_username_is_refused() -> None:
    with pytest.raises(WeakPassword):
        check_policy("my name is sara.lind, ok?", username="Sara.Lind")
    check_policy("my name is somebody else", username="sara.lind")


def test_argon2id_parameters_and_a_64_character_password_round_trip() -> None:
    """R-8: Argon2id parameters and a 64 character password round trip."""
    password = "a 64-character passphrase: " + "x" * 37
    assert len(password) == 64
    hashed = hash_password(password)
    assert hashed.startswith("$argon2id$")
    params = dict(p.split("=") for p in hashed.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2
    assert int(params["p"]) == 1
    assert verify_password(hashed, password) is True
    assert verify_password(hashed, password[:-1]) is False
    assert verify_password(None, password) is False  # unknown account: refused, same cost
    assert verify_password("not a hash", password) is False
