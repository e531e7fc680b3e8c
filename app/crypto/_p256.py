"""P-256 key handling shared by ``hpke`` and ``sign``: PKCS#8, raw scalars, 65-byte points.

Internal: callers use the helpers ``hpke`` and ``sign`` expose, as the browser imports the same
key as ECDH in ``hpke.js`` and as ECDSA in ``sign.js``.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PUBLIC_KEY_BYTES: Final = 65
SCALAR_BYTES: Final = 32


def load_pkcs8(pkcs8: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of an unencrypted PKCS#8 DER blob; ``ValueError`` otherwise."""
    key = serialization.load_der_private_key(pkcs8, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 private key")
    return key


def from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of a 32-byte big-endian scalar in ``[1, n)``; ``ValueError`` else."""
    if len(scalar) != SCALAR_BYTES:
        raise ValueError("a P-256 scalar is 32 bytes")
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def generate() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed point ``04 ‖ x ‖ y`` of a key (of a private key's public half)."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def load_public(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A 65-byte uncompressed point on P-256; ``ValueError`` for anything else (even compressed)."""
    if len(raw) != PUBLIC_KEY_BYTES or raw[0] != 0x04:
        raise ValueError("public key must be a 65-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
