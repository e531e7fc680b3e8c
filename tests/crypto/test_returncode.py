"""Return codes (app/crypto/returncode.py) against ``vectors/crypto-v1.json``.

PBKDF2 at 600 000 iterations runs once here (the reference KEK), about half a second.
"""

from __future__ import annotations

import functools

import pytest

from app.crypto import returncode
from app.kit import b64
from tests.vectors import REFERENCE_PATH, load

V = load(REFERENCE_PATH)
R = V["return_code"]
D = b64.decode
CONV = D(V["conv"])
SEG: int = V["seg"]
K = D(V["segment_key"])
CODE: str = R["code"]
SALT, NONCE, WRAP = D(R["salt"]), D(R["nonce"]), D(R["wrap"])


@functools.cache
def reference_kek() -> bytes:
    return returncode.kek(CODE, SALT, R["pbkdf2_iterations"])


def test_locator_vector() -> None:
    assert b64.encode(returncode.locator(CODE)) == R["locator"]


def test_kek_vector() -> None:
    assert R["pbkdf2_iterations"] == returncode.ITERATIONS
    assert b64.encode(reference_kek()) == R["kek"]


def test_wrap_vector() -> None:
    assert b64.encode(returncode.return_aad(CONV, SEG)) == R["aad"]
    wrap = returncode.wrap_with_code(reference_kek(), NONCE, K, CONV, SEG)
    assert b64.encode(wrap) == R["wrap"]
    assert returncode.unwrap_with_code(reference_kek(), NONCE, WRAP, CONV, SEG) == K


def test_typed_code_gives_the_same_locator() -> None:
    typed = "7k3q-9zc1 wx4m-8n2p rt6v"
    assert returncode.normalise_code(typed) == CODE
    assert returncode.locator(typed) == returncode.locator(CODE)
    assert returncode.kek(typed, SALT, 10) == returncode.kek(CODE, SALT, 10)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("7K3Q9ZC1WX4M8N2PRT6V", "7K3Q9ZC1WX4M8N2PRT6V"),
        ("7k3q 9zc1 wx4m 8n2p rt6v", "7K3Q9ZC1WX4M8N2PRT6V"),
        (" 7K3Q-9ZC1-WX4M-8N2P-RT6V\n", "7K3Q9ZC1WX4M8N2PRT6V"),
        ("oOiIlL0000000000ABCD", "0011110000000000ABCD"),
    ],
    ids=["canonical", "grouped-lower", "hyphens", "lookalikes"],
)
def test_normalise_code(typed: str, code: str) -> None:
    assert returncode.normalise_code(typed) == code


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "7K3Q9ZC1WX4M8N2PRT6",
        "7K3Q9ZC1WX4M8N2PRT6VV",
        "7K3Q9ZC1WX4M8N2PRT6U",
        "7K3Q9ZC1WX4M8N2PRT6_",
        "7K3Q9ZC1WX4M8N2PRT6ß",
        "7K3Q9ZC1WX4M8N2PRT6\u0131",
        "\uff17K3Q9ZC1WX4M8N2PRT6V",
    ],
    ids=["empty", "short", "long", "U", "punctuation", "sharp-s", "dotless-i", "fullwidth"],
)
def test_normalise_code_refuses(typed: str) -> None:
    with pytest.raises(returncode.ReturnCodeError):
        returncode.normalise_code(typed)


def test_new_code() -> None:
    codes = {returncode.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 20
        assert returncode.normalise_code(code) == code
    assert set("".join(codes)) == set(returncode.ALPHABET)


def test_format_code() -> None:
    assert returncode.format_code(CODE) == "7K3Q 9ZC1 WX4M 8N2P RT6V"
    assert returncode.normalise_code(returncode.format_code(CODE)) == CODE


LOW = 1000
WRONG_KEK = returncode.kek("7K3Q9ZC1WX4M8N2PRT6W", SALT, LOW)


@pytest.mark.parametrize(
    ("kek", "nonce", "wrap", "conv", "seg"),
    [
        (WRONG_KEK, NONCE, WRAP, CONV, SEG),
        (returncode.kek(CODE, bytes(16), LOW), NONCE, WRAP, CONV, SEG),
        (None, bytes(12), WRAP, CONV, SEG),
        (None, NONCE, WRAP, bytes(16), SEG),
        (None, NONCE, WRAP, CONV, SEG + 1),
        (None, NONCE, WRAP[:-1], CONV, SEG),
        (None, NONCE, WRAP[:16], CONV, SEG),
        (None, NONCE, bytes([WRAP[0] ^ 1]) + WRAP[1:], CONV, SEG),
    ],
    ids=["wrong-code", "wrong-salt", "nonce", "conv", "seg", "truncated", "tag-only", "flipped"],
)
def test_unwrap_refuses(
    kek: bytes | None, nonce: bytes, wrap: bytes, conv: bytes, seg: int
) -> None:
    with pytest.raises(returncode.ReturnCodeError):
        returncode.unwrap_with_code(kek or reference_kek(), nonce, wrap, conv, seg)


def test_malformed_arguments() -> None:
    kek = WRONG_KEK
    with pytest.raises(ValueError, match="salt"):
        returncode.kek(CODE, bytes(8), LOW)
    with pytest.raises(ValueError, match="iterations"):
        returncode.kek(CODE, SALT, 0)
    with pytest.raises(ValueError, match="nonce"):
        returncode.wrap_with_code(kek, bytes(16), K, CONV, SEG)
    with pytest.raises(ValueError, match="segment key"):
        returncode.wrap_with_code(kek, NONCE, K[:16], CONV, SEG)
    with pytest.raises(ValueError, match="kek"):
        returncode.wrap_with_code(kek[:16], NONCE, K, CONV, SEG)
    with pytest.raises(ValueError, match="conv"):
        returncode.return_aad(CONV[:8], SEG)
    with pytest.raises(returncode.ReturnCodeError):
        returncode.locator("not a code")
