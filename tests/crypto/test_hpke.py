"""HPKE base mode (app/crypto/hpke.py) against RFC 9180 A.3.1 and ``cryptography``'s HPKE.

Where the values come from: ``tests/vectors/rfc9180-a3.json`` (shared with the browser tests,
commit d678bb5) holds RFC 9180 Appendix A.3.1 (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
AES-128-GCM, base mode). A second, independent transcription from the RFC, checked against
public copies of A.3.1 in other HPKE implementations' test suites, agreed with it value for value.
Beyond transcription, these tests check that the values hang together: DeriveKeyPair reproduces
the RFC's key pairs from its ikm values, and ``cryptography``'s own HPKE (OpenSSL) opens the
RFC's first ciphertext. The AES-256-GCM suite of CRYPTO.md (cs = 1) has no RFC vector: it is
checked against ``cryptography.hazmat.primitives.hpke.Suite`` in both directions, and the
reference wraps of ``vectors/crypto-v1.json`` are opened in test_certs.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from app.crypto import hpke
from tests.vectors import RFC9180_A3_PATH, load

# ``Suite.encrypt``/``decrypt`` fix the aad to empty; these private twins (cryptography 48-50)
# take one, which the RFC's ciphertexts and our non-empty-aad interop checks need.
_encrypt_with_aad = rust_openssl.hpke._encrypt_with_aad
_decrypt_with_aad = rust_openssl.hpke._decrypt_with_aad

A3 = load(RFC9180_A3_PATH)
ENCRYPTIONS: list[dict[str, Any]] = A3["encryptions"]
SUITE_256 = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def h(name: str) -> bytes:
    return bytes.fromhex(A3[name])


SK_R = hpke.private_key_from_scalar(h("skRm"))
SK_E = hpke.private_key_from_scalar(h("skEm"))


def test_suite_ids() -> None:
    assert hpke.hpke_suite_id(16) == b"HPKE\x00\x10\x00\x01\x00\x01"
    assert hpke.hpke_suite_id(32) == b"HPKE\x00\x10\x00\x01\x00\x02"
    with pytest.raises(ValueError, match="key_length"):
        hpke.hpke_suite_id(24)


@pytest.mark.parametrize(("ikm", "sk", "pk"), [("ikmE", "skEm", "pkEm"), ("ikmR", "skRm", "pkRm")])
def test_derive_key_pair(ikm: str, sk: str, pk: str) -> None:
    key = hpke.derive_key_pair(h(ikm))
    assert key.private_numbers().private_value.to_bytes(32, "big") == h(sk)
    assert hpke.public_key_bytes(key) == h(pk)


def test_encap_decap() -> None:
    shared_secret, enc = hpke.encap(h("pkRm"), SK_E)
    assert enc == h("enc")
    assert shared_secret == h("shared_secret")
    assert hpke.decap(h("enc"), SK_R) == h("shared_secret")


def test_key_schedule() -> None:
    ks = hpke.key_schedule(h("shared_secret"), h("info"), key_length=16)
    assert ks.key_schedule_context == h("key_schedule_context")
    assert ks.secret == h("secret")
    assert ks.key == h("key")
    assert ks.base_nonce == h("base_nonce")
    assert ks.exporter_secret == h("exporter_secret")


def test_encryptions_in_sequence() -> None:
    enc, sender = hpke.setup_base_s(h("pkRm"), h("info"), key_length=16, ephemeral=SK_E)
    receiver = hpke.setup_base_r(enc, SK_R, h("info"), key_length=16)
    assert enc == h("enc")
    for e in ENCRYPTIONS:
        seq = e["sequence_number"]
        sender.seq = receiver.seq = seq  # the RFC lists a sample of sequence numbers
        assert sender.compute_nonce(seq) == bytes.fromhex(e["nonce"])
        pt, aad, ct = (bytes.fromhex(e[k]) for k in ("pt", "aad", "ct"))
        assert sender.seal(aad, pt) == ct
        assert receiver.open(aad, ct) == pt
        assert sender.seq == receiver.seq == seq + 1


def test_exports() -> None:
    context = hpke.setup_base_r(h("enc"), SK_R, h("info"), key_length=16)
    for x in A3["exports"]:
        assert context.export(bytes.fromhex(x["exporter_context"]), x["L"]) == bytes.fromhex(
            x["exported_value"]
        )


def test_single_shot_is_sequence_zero() -> None:
    e = ENCRYPTIONS[0]
    pt, aad, ct = (bytes.fromhex(e[k]) for k in ("pt", "aad", "ct"))
    sealed = hpke.seal(h("pkRm"), h("info"), aad, pt, key_length=16, ephemeral=SK_E)
    assert sealed == h("enc") + ct
    assert hpke.open(SK_R, sealed, h("info"), aad, key_length=16) == pt


def test_cryptography_opens_the_rfc_ciphertext() -> None:
    # An independent check of the transcribed values: OpenSSL's HPKE, not ours.
    e = ENCRYPTIONS[0]
    suite = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    sealed = h("enc") + bytes.fromhex(e["ct"])
    opened = _decrypt_with_aad(suite, sealed, SK_R, h("info"), bytes.fromhex(e["aad"]))
    assert opened == bytes.fromhex(e["pt"])


@pytest.mark.parametrize("aad", [b"", b"bound header"], ids=["no-aad", "aad"])
def test_interop_with_cryptography_aes_256_gcm(aad: bytes) -> None:
    sk = hpke.generate_private_key()
    pk = hpke.public_key_bytes(sk)
    info = b"vh/v1/wrap|C|" + bytes(36)
    pt = bytes(range(32))
    if aad:
        theirs = _encrypt_with_aad(SUITE_256, pt, sk.public_key(), info, aad)
    else:
        theirs = SUITE_256.encrypt(pt, sk.public_key(), info)
    assert hpke.open(sk, theirs, info, aad) == pt
    ours = hpke.seal(pk, info, aad, pt)
    assert len(ours) == 65 + len(pt) + 16
    assert _decrypt_with_aad(SUITE_256, ours, sk, info, aad) == pt
    if not aad:
        assert SUITE_256.decrypt(ours, sk, info) == pt


def test_seal_is_randomised() -> None:
    pk = hpke.public_key_bytes(SK_R)
    assert hpke.seal(pk, b"i", b"", b"k") != hpke.seal(pk, b"i", b"", b"k")


SEALED = hpke.seal(hpke.public_key_bytes(SK_R), b"info", b"aad", b"secret")


@pytest.mark.parametrize(
    ("sealed", "info", "aad", "key_length"),
    [
        (SEALED, b"other", b"aad", 32),
        (SEALED, b"info", b"other", 32),
        (SEALED, b"info", b"aad", 16),
        (SEALED[:-1], b"info", b"aad", 32),
        (SEALED[:80], b"info", b"aad", 32),
        (SEALED[:10], b"info", b"aad", 32),
        (SEALED[:-1] + bytes([SEALED[-1] ^ 1]), b"info", b"aad", 32),
        (SEALED[:70] + bytes([SEALED[70] ^ 1]) + SEALED[71:], b"info", b"aad", 32),
        (bytes([SEALED[0], SEALED[1] ^ 1]) + SEALED[2:], b"info", b"aad", 32),
        (b"\x02" + SEALED[1:], b"info", b"aad", 32),
    ],
    ids=[
        "wrong-info",
        "wrong-aad",
        "wrong-key-length",
        "truncated-tag",
        "truncated-to-enc",
        "shorter-than-enc",
        "flipped-tag",
        "flipped-ct",
        "enc-off-curve",
        "enc-compressed",
    ],
)
def test_open_refuses(sealed: bytes, info: bytes, aad: bytes, key_length: int) -> None:
    with pytest.raises(hpke.HpkeError):
        hpke.open(SK_R, sealed, info, aad, key_length=key_length)


def test_open_refuses_another_recipient() -> None:
    with pytest.raises(hpke.HpkeError):
        hpke.open(hpke.generate_private_key(), SEALED, b"info", b"aad")


def test_seal_refuses_malformed_public_keys() -> None:
    pk = hpke.public_key_bytes(SK_R)
    compressed = bytes([0x02 + (pk[-1] & 1)]) + pk[1:33]
    for bad in (compressed, pk[:-1], bytes(65), b"\x04" + bytes(64)):
        with pytest.raises(ValueError):  # noqa: PT011 - any refusal will do
            hpke.seal(bad, b"", b"", b"k")
