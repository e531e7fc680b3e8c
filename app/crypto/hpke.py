"""HPKE base mode (RFC 9180): DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-GCM.

Written out from the RFC's pieces rather than taken from ``cryptography.hazmat.primitives.hpke``
so that ``frontend/static/js/crypto/hpke.js`` can mirror it step for step on WebCrypto (HMAC,
ECDH, AES-GCM): LabeledExtract/LabeledExpand (§4), DHKEM Encap/Decap (§4.1), DeriveKeyPair
(§7.1.3), KeySchedule (§5.1), Seal/Open with sequence-number nonces (§5.2), the exporter (§5.3).
Tests check it against RFC 9180 A.3 and against ``cryptography``'s own HPKE, both ways.

The AEAD key length is a parameter: 32 (AES-256-GCM, aead id 0x0002) is suite ``cs = 1``;
16 (AES-128-GCM, 0x0001) is what RFC 9180 A.3's vectors use. Public keys are 65-byte uncompressed
points; private keys are ``EllipticCurvePrivateKey`` objects (the browser's CryptoKeys). The
sealed form is ``enc (65 bytes) ‖ ct``, what ``hpke.Suite.encrypt`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto import _p256

KEM_P256_HKDF_SHA256: Final = 0x0010
KDF_HKDF_SHA256: Final = 0x0001
#: AEAD id by key length: AES-128-GCM and AES-256-GCM.
AEAD_IDS: Final = {16: 0x0001, 32: 0x0002}
MODE_BASE: Final = 0x00
#: Nenc = Npk: an uncompressed P-256 point.
ENC_BYTES: Final = 65
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
HASH_BYTES: Final = 32
_VERSION: Final = b"HPKE-v1"
_KEM_SUITE: Final = b"KEM" + KEM_P256_HKDF_SHA256.to_bytes(2, "big")
#: The order n of P-256: DeriveKeyPair rejects candidate scalars outside ``[1, n)``.
_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class HpkeError(ValueError):
    """Opening failed: wrong key, ``info`` or ``aad``, a tampered, truncated or malformed input."""


# Key helpers: the browser imports these keys as ECDH CryptoKeys.


def load_private_key(pkcs8: bytes) -> ec.EllipticCurvePrivateKey:
    """A recipient key from unencrypted PKCS#8 DER (JS ``importPrivateKey``)."""
    return _p256.load_pkcs8(pkcs8)


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """A key from its 32-byte scalar (JS ``importKeyPair(scalar, publicRaw)``); for test keys."""
    return _p256.from_scalar(scalar)


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key (JS ``generateKeyPair``)."""
    return _p256.generate()


def public_key_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed point of a key (of a private key's public half)."""
    return _p256.public_bytes(key)


# RFC 9180 §4 and §5.1


def hpke_suite_id(key_length: int) -> bytes:
    """``"HPKE" ‖ kem_id ‖ kdf_id ‖ aead_id`` (RFC 9180 §5.1) for an AEAD key of that length."""
    return (
        b"HPKE"
        + KEM_P256_HKDF_SHA256.to_bytes(2, "big")
        + KDF_HKDF_SHA256.to_bytes(2, "big")
        + _aead_id(key_length).to_bytes(2, "big")
    )


def _aead_id(key_length: int) -> int:
    if key_length not in AEAD_IDS:
        raise ValueError("key_length must be 16 or 32")
    return AEAD_IDS[key_length]


def _hmac(key: bytes, data: bytes) -> bytes:
    # An empty HKDF salt is HashLen zero bytes (RFC 5869 §2.2); WebCrypto refuses empty keys.
    mac = hmac.HMAC(key or bytes(HASH_BYTES), hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3) with HMAC-SHA256."""
    if length > 255 * HASH_BYTES:
        raise ValueError("HKDF-Expand length too large")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = _hmac(prk, block + info + bytes([counter]))
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite_id: bytes, salt: bytes, label: str, ikm: bytes) -> bytes:
    """``LabeledExtract(salt, label, ikm)`` of RFC 9180 §4; ``label`` is ASCII text."""
    return _hmac(salt, _VERSION + suite_id + label.encode("ascii") + ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: str, info: bytes, length: int) -> bytes:
    """``LabeledExpand(prk, label, info, L)`` of RFC 9180 §4; ``label`` is ASCII text."""
    if not 0 <= length <= 0xFFFF:
        raise ValueError("length too large")
    labeled = length.to_bytes(2, "big") + _VERSION + suite_id + label.encode("ascii") + info
    return _expand(prk, labeled, length)


# DHKEM(P-256, HKDF-SHA256), RFC 9180 §4.1 and §7.1.3


def derive_key_pair(ikm: bytes) -> ec.EllipticCurvePrivateKey:
    """DeriveKeyPair (RFC 9180 §7.1.3): the key of ``ikm``. Python only, for known-answer tests."""
    dkp_prk = labeled_extract(_KEM_SUITE, b"", "dkp_prk", ikm)
    for counter in range(256):
        candidate = labeled_expand(_KEM_SUITE, dkp_prk, "candidate", bytes([counter]), 32)
        scalar = int.from_bytes(candidate, "big")  # the P-256 bitmask is 0xff: nothing to clear
        if 0 < scalar < _ORDER:
            return _p256.from_scalar(candidate)
    raise ValueError("DeriveKeyPairError")  # pragma: no cover - probability about 2**-8192


def _dh(private_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey) -> bytes:
    try:
        return private_key.exchange(ec.ECDH(), public_key)
    except ValueError:
        raise HpkeError("ECDH failed") from None


def _extract_and_expand(dh: bytes, kem_context: bytes) -> bytes:
    eae_prk = labeled_extract(_KEM_SUITE, b"", "eae_prk", dh)
    return labeled_expand(_KEM_SUITE, eae_prk, "shared_secret", kem_context, HASH_BYTES)


def encap(pk_r: bytes, ephemeral: ec.EllipticCurvePrivateKey | None = None) -> tuple[bytes, bytes]:
    """DHKEM Encap: ``(shared_secret, enc)`` for the 65-byte point ``pk_r``.

    ``ephemeral`` fixes the ephemeral key for known-answer tests; never pass it otherwise.
    Raises ``ValueError`` if ``pk_r`` is not a 65-byte uncompressed P-256 point.
    """
    recipient = _p256.load_public(pk_r)
    key = ephemeral if ephemeral is not None else _p256.generate()
    enc = _p256.public_bytes(key)
    return _extract_and_expand(_dh(key, recipient), enc + pk_r), enc


def decap(enc: bytes, sk_r: ec.EllipticCurvePrivateKey) -> bytes:
    """DHKEM Decap: the shared secret of ``enc`` for ``sk_r``. Raises ``HpkeError``."""
    try:
        ephemeral = _p256.load_public(enc)
    except ValueError:
        raise HpkeError("enc is not a 65-byte uncompressed P-256 point") from None
    return _extract_and_expand(_dh(sk_r, ephemeral), enc + _p256.public_bytes(sk_r))


# Key schedule and context, RFC 9180 §5


@dataclass(frozen=True)
class KeySchedule:
    """The values KeySchedule derives in base mode; exported for known-answer tests."""

    key_schedule_context: bytes
    secret: bytes
    key: bytes
    base_nonce: bytes
    exporter_secret: bytes


def key_schedule(shared_secret: bytes, info: bytes, *, key_length: int = 32) -> KeySchedule:
    """KeySchedule (RFC 9180 §5.1) in base mode: no PSK, ``psk`` and ``psk_id`` empty."""
    suite = hpke_suite_id(key_length)
    psk_id_hash = labeled_extract(suite, b"", "psk_id_hash", b"")
    info_hash = labeled_extract(suite, b"", "info_hash", info)
    context = bytes([MODE_BASE]) + psk_id_hash + info_hash
    secret = labeled_extract(suite, shared_secret, "secret", b"")
    return KeySchedule(
        key_schedule_context=context,
        secret=secret,
        key=labeled_expand(suite, secret, "key", context, key_length),
        base_nonce=labeled_expand(suite, secret, "base_nonce", context, NONCE_BYTES),
        exporter_secret=labeled_expand(suite, secret, "exp", context, HASH_BYTES),
    )


class Context:
    """One direction of an HPKE context, made by ``setup_base_s`` or ``setup_base_r``.

    ``seal`` and ``open`` use and then advance ``seq``: messages must be opened in the order they
    were sealed, and one context must only seal or only open.
    """

    def __init__(self, schedule: KeySchedule, key_length: int) -> None:
        self._aead = AESGCM(schedule.key)
        self._exporter_secret = schedule.exporter_secret
        self._suite = hpke_suite_id(key_length)
        self.base_nonce = schedule.base_nonce
        self.seq = 0

    def compute_nonce(self, seq: int) -> bytes:
        """``base_nonce XOR I2OSP(seq, 12)`` (RFC 9180 §5.2)."""
        if not 0 <= seq < 2 ** (8 * NONCE_BYTES) - 1:
            raise HpkeError("sequence number overflow")
        mask = seq.to_bytes(NONCE_BYTES, "big")
        return bytes(a ^ b for a, b in zip(self.base_nonce, mask, strict=True))

    def seal(self, aad: bytes, pt: bytes) -> bytes:
        """``ct ‖ tag`` of ``pt`` under the next sequence number."""
        ct = self._aead.encrypt(self.compute_nonce(self.seq), pt, aad)
        self.seq += 1
        return ct

    def open(self, aad: bytes, ct: bytes) -> bytes:
        """The plaintext of ``ct`` under the next sequence number. Raises ``HpkeError``."""
        if len(ct) < TAG_BYTES:
            raise HpkeError("ciphertext is too short")
        try:
            pt = self._aead.decrypt(self.compute_nonce(self.seq), ct, aad)
        except InvalidTag:
            raise HpkeError("the ciphertext could not be opened") from None
        self.seq += 1
        return pt

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """Secret export (RFC 9180 §5.3): ``LabeledExpand(exporter_secret, "sec", ctx, L)``."""
        return labeled_expand(self._suite, self._exporter_secret, "sec", exporter_context, length)


def setup_base_s(
    pk_r: bytes,
    info: bytes,
    *,
    key_length: int = 32,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[bytes, Context]:
    """SetupBaseS: ``(enc, context)`` for sealing to ``pk_r``; ``ephemeral`` as for ``encap``."""
    _aead_id(key_length)
    shared_secret, enc = encap(pk_r, ephemeral)
    return enc, Context(key_schedule(shared_secret, info, key_length=key_length), key_length)


def setup_base_r(
    enc: bytes, sk_r: ec.EllipticCurvePrivateKey, info: bytes, *, key_length: int = 32
) -> Context:
    """SetupBaseR: the context for opening what was sealed to ``enc``. Raises ``HpkeError``."""
    _aead_id(key_length)
    shared_secret = decap(enc, sk_r)
    return Context(key_schedule(shared_secret, info, key_length=key_length), key_length)


def seal(
    pk_r: bytes,
    info: bytes,
    aad: bytes,
    pt: bytes,
    *,
    key_length: int = 32,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """Single-shot Seal: ``enc (65 bytes) ‖ ct`` of ``pt`` to the 65-byte point ``pk_r``.

    ``ephemeral`` is only for known-answer tests. Raises ``ValueError`` for a malformed ``pk_r``.
    """
    enc, context = setup_base_s(pk_r, info, key_length=key_length, ephemeral=ephemeral)
    return enc + context.seal(aad, pt)


def open(  # RFC 9180's name, as in hpke.js; shadows the builtin in this module only
    sk_r: ec.EllipticCurvePrivateKey,
    sealed: bytes,
    info: bytes,
    aad: bytes,
    *,
    key_length: int = 32,
) -> bytes:
    """Single-shot Open of ``enc ‖ ct``. Raises ``HpkeError`` when it cannot be opened."""
    if len(sealed) < ENC_BYTES + TAG_BYTES:
        raise HpkeError("sealed value is too short")
    context = setup_base_r(sealed[:ENC_BYTES], sk_r, info, key_length=key_length)
    return context.open(aad, sealed[ENC_BYTES:])
