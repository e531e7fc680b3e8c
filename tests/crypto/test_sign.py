"""ECDSA P-256 SHA-256 with raw r ‖ s (app/crypto/sign.py).

Known answer: RFC 6979 A.2.5 (P-256, SHA-256, message "sample"), as published in the RFC, for
the deterministic signatures the golden file uses; the r ‖ s layout is what WebCrypto produces.
Keys: the reference vectors' PKCS#8 keys must give their published 65-byte public keys.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from app.crypto import sign
from app.kit import b64
from tests.vectors import REFERENCE_PATH, load

VECTORS = load(REFERENCE_PATH)

RFC6979_X = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
RFC6979_PUBLIC = (
    "04"
    "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
)
RFC6979_SAMPLE_SIG = (
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
)

KEY = sign.private_key_from_scalar(bytes.fromhex(RFC6979_X))
PUB = sign.public_key_bytes(KEY)
MESSAGE = b"vh/v1/accept" + bytes(52)


def test_rfc6979_sample() -> None:
    assert PUB.hex() == RFC6979_PUBLIC
    sig = sign.sign(KEY, b"sample", deterministic=True)
    assert sig.hex() == RFC6979_SAMPLE_SIG
    assert sign.verify(PUB, b"sample", sig)


@pytest.mark.parametrize(
    ("pkcs8", "public"),
    [
        (VECTORS["service_key"]["pkcs8"], VECTORS["service_key"]["public"]),
        (VECTORS["device"]["sig_pkcs8"], VECTORS["device"]["sig_public"]),
    ],
    ids=["service", "device"],
)
def test_reference_keys(pkcs8: str, public: str) -> None:
    key = sign.load_private_key(b64.decode(pkcs8))
    assert b64.encode(sign.public_key_bytes(key)) == public
    assert b64.encode(sign.public_key_bytes(key.public_key())) == public


def test_sign_verify_round_trip() -> None:
    sig = sign.sign(KEY, MESSAGE)
    assert len(sig) == 64
    assert sign.verify(PUB, MESSAGE, sig)
    assert sig != sign.sign(KEY, MESSAGE)  # randomised unless asked otherwise
    assert sign.sign(KEY, MESSAGE, deterministic=True) == sign.sign(
        KEY, MESSAGE, deterministic=True
    )


def test_small_r_and_s_keep_their_width() -> None:
    # r or s below 2**248 still take 32 bytes each; 2**-8 of signatures hit this.
    for i in range(600):
        sig = sign.sign(KEY, i.to_bytes(4, "big"), deterministic=True)
        assert len(sig) == 64
        if sig[0] == 0 or sig[32] == 0:
            assert sign.verify(PUB, i.to_bytes(4, "big"), sig)
            return
    pytest.fail("no signature with a leading zero byte in 600 tries")


SIG = sign.sign(KEY, MESSAGE)
OTHER_PUB = sign.public_key_bytes(sign.generate_private_key())


@pytest.mark.parametrize(
    ("public", "message", "sig"),
    [
        (PUB, MESSAGE + b"x", SIG),
        (PUB, MESSAGE[:-1] + b"\x01", SIG),
        (OTHER_PUB, MESSAGE, SIG),
        (PUB, MESSAGE, SIG[:-1]),
        (PUB, MESSAGE, SIG + b"\x00"),
        (PUB, MESSAGE, bytes([SIG[0] ^ 1]) + SIG[1:]),
        (PUB, MESSAGE, bytes(64)),
        (PUB, MESSAGE, b"\xff" * 64),
        (PUB[:-1], MESSAGE, SIG),
        (bytes([0x02 + (PUB[-1] & 1)]) + PUB[1:33], MESSAGE, SIG),
        (b"\x04" + bytes(64), MESSAGE, SIG),
    ],
    ids=[
        "longer-message",
        "flipped-message",
        "other-key",
        "short-sig",
        "long-sig",
        "flipped-sig",
        "zero-sig",
        "sig-above-order",
        "short-key",
        "compressed-key",
        "key-off-curve",
    ],
)
def test_verify_refuses(public: bytes, message: bytes, sig: bytes) -> None:
    assert sign.verify(public, message, sig) is False


def test_load_private_key_refuses_other_curves() -> None:
    for key in (ec.generate_private_key(ec.SECP384R1()), ed25519.Ed25519PrivateKey.generate()):
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(ValueError, match="P-256"):
            sign.load_private_key(der)
