"""Certificates, sealed segment keys and acceptances (app/crypto/certs.py).

Every certificate, wrap and acceptance entry of ``vectors/crypto-v1.json`` is reproduced byte for
byte (messages, infos, commit) or verified/opened (signatures and HPKE seals are randomised),
followed by the negative cases of CRYPTO.md §7.
"""

from __future__ import annotations

import pytest

from app.crypto import certs, hpke, sign
from app.kit import b64
from tests.vectors import REFERENCE_PATH, load

V = load(REFERENCE_PATH)
D = b64.decode
CONV = D(V["conv"])
SEG: int = V["seg"]
K = D(V["segment_key"])
SERVICE_KEY = sign.load_private_key(D(V["service_key"]["pkcs8"]))
SERVICE_PUB = D(V["service_key"]["public"])

DEV = V["device"]
STAFF_ID, DEVICE_ID = D(DEV["staff_id"]), D(DEV["device_id"])
HPKE_PUB, SIG_PUB = D(DEV["hpke_public"]), D(DEV["sig_public"])
DEVICE_HPKE_KEY = hpke.load_private_key(D(DEV["hpke_pkcs8"]))
DEVICE_SIG_KEY = sign.load_private_key(D(DEV["sig_pkcs8"]))
DEV_NOT_AFTER: int = DEV["not_after"]
DEV_SIG = D(DEV["cert_signature"])

PER = V["period"]
PERIOD_ID, PERIOD_PUB = D(PER["period_id"]), D(PER["public"])
PERIOD_KEY = hpke.load_private_key(D(PER["pkcs8"]))
NOT_BEFORE: int = PER["not_before"]
NOT_AFTER: int = PER["not_after"]
PER_SIG = D(PER["cert_signature"])

NOW = NOT_BEFORE + 1000
OTHER_ID = bytes(range(16))
ATTACKER = hpke.public_key_bytes(hpke.generate_private_key())


# The reference vectors


def test_reference_keys() -> None:
    assert sign.public_key_bytes(SERVICE_KEY) == SERVICE_PUB
    assert hpke.public_key_bytes(DEVICE_HPKE_KEY) == HPKE_PUB
    assert sign.public_key_bytes(DEVICE_SIG_KEY) == SIG_PUB
    assert hpke.public_key_bytes(PERIOD_KEY) == PERIOD_PUB


def test_device_certificate_vector() -> None:
    message = certs.device_cert_message(STAFF_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, DEV_NOT_AFTER)
    assert b64.encode(message) == DEV["cert_message"]
    certs.verify_device_cert(
        SERVICE_PUB, STAFF_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, DEV_NOT_AFTER, DEV_SIG, NOW
    )


def test_period_certificate_vector() -> None:
    message = certs.period_cert_message(PERIOD_ID, PERIOD_PUB, NOT_BEFORE, NOT_AFTER)
    assert b64.encode(message) == PER["cert_message"]
    for now in (NOT_BEFORE, NOW, NOT_AFTER - 1):
        certs.verify_period_cert(
            SERVICE_PUB, PERIOD_ID, PERIOD_PUB, NOT_BEFORE, NOT_AFTER, PER_SIG, now
        )


def test_wrap_vectors_open_to_the_segment_key() -> None:
    c, o = V["wraps"]["counsellor"], V["wraps"]["organisation"]
    assert b64.encode(certs.wrap_info_counsellor(CONV, SEG, DEVICE_ID)) == c["info"]
    assert b64.encode(certs.wrap_info_organisation(CONV, SEG, PERIOD_ID)) == o["info"]
    opened = certs.open_segment_key_as_device(DEVICE_HPKE_KEY, D(c["sealed"]), CONV, SEG, DEVICE_ID)
    assert opened == K
    opened = certs.open_segment_key_as_period(PERIOD_KEY, D(o["sealed"]), CONV, SEG, PERIOD_ID)
    assert opened == K


def test_acceptance_vector() -> None:
    a = V["acceptance"]
    assert b64.encode(certs.commit(K)) == a["commit"]
    assert b64.encode(certs.acceptance_message(CONV, SEG, K)) == a["message"]
    certs.verify_acceptance(SIG_PUB, CONV, SEG, K, D(a["signature"]))


# Our own output, as the browser will check it


def test_issue_and_verify() -> None:
    sig = certs.issue_device_cert(SERVICE_KEY, STAFF_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, 2000)
    certs.verify_device_cert(SERVICE_PUB, STAFF_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, 2000, sig, 1999)
    sig = certs.issue_period_cert(SERVICE_KEY, PERIOD_ID, PERIOD_PUB, 1000, 2000)
    certs.verify_period_cert(SERVICE_PUB, PERIOD_ID, PERIOD_PUB, 1000, 2000, sig, 1000)
    sig = certs.sign_acceptance(DEVICE_SIG_KEY, CONV, 7, K)
    certs.verify_acceptance(SIG_PUB, CONV, 7, K, sig)


def test_seal_and_open_segment_keys() -> None:
    key = bytes(range(100, 132))
    sealed = certs.seal_segment_key_to_device(HPKE_PUB, key, CONV, 3, DEVICE_ID)
    assert len(sealed) == 65 + 32 + 16
    assert certs.open_segment_key_as_device(DEVICE_HPKE_KEY, sealed, CONV, 3, DEVICE_ID) == key
    sealed = certs.seal_segment_key_to_period(PERIOD_PUB, key, CONV, 3, PERIOD_ID)
    assert certs.open_segment_key_as_period(PERIOD_KEY, sealed, CONV, 3, PERIOD_ID) == key


# Negative cases (CRYPTO.md §7)

DEVICE_FIELDS = (STAFF_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, DEV_NOT_AFTER)


@pytest.mark.parametrize(
    ("staff_id", "device_id", "hpke_pub", "sig_pub", "not_after"),
    [
        (OTHER_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, DEV_NOT_AFTER),
        (STAFF_ID, OTHER_ID, HPKE_PUB, SIG_PUB, DEV_NOT_AFTER),
        (STAFF_ID, DEVICE_ID, ATTACKER, SIG_PUB, DEV_NOT_AFTER),
        (STAFF_ID, DEVICE_ID, HPKE_PUB, ATTACKER, DEV_NOT_AFTER),
        (STAFF_ID, DEVICE_ID, SIG_PUB, HPKE_PUB, DEV_NOT_AFTER),
        (STAFF_ID, DEVICE_ID, HPKE_PUB, SIG_PUB, DEV_NOT_AFTER + 1),
    ],
    ids=["staff-id", "device-id", "uncertified-hpke-key", "uncertified-sig-key", "swapped", "time"],
)
def test_device_cert_refuses_changed_fields(
    staff_id: bytes, device_id: bytes, hpke_pub: bytes, sig_pub: bytes, not_after: int
) -> None:
    with pytest.raises(certs.VerificationError, match="not signed"):
        certs.verify_device_cert(
            SERVICE_PUB, staff_id, device_id, hpke_pub, sig_pub, not_after, DEV_SIG, NOW
        )


def test_device_cert_refuses_every_flipped_byte_of_its_message() -> None:
    message = certs.device_cert_message(*DEVICE_FIELDS)
    assert sign.verify(SERVICE_PUB, message, DEV_SIG)
    for i in range(len(message)):
        flipped = message[:i] + bytes([message[i] ^ 0x01]) + message[i + 1 :]
        assert not sign.verify(SERVICE_PUB, flipped, DEV_SIG), i


def test_period_cert_refuses_every_flipped_byte_of_its_message() -> None:
    message = certs.period_cert_message(PERIOD_ID, PERIOD_PUB, NOT_BEFORE, NOT_AFTER)
    for i in range(len(message)):
        flipped = message[:i] + bytes([message[i] ^ 0x80]) + message[i + 1 :]
        assert not sign.verify(SERVICE_PUB, flipped, PER_SIG), i


def test_cert_signed_by_another_key() -> None:
    rogue = sign.generate_private_key()
    sig = certs.issue_device_cert(rogue, *DEVICE_FIELDS)
    with pytest.raises(certs.VerificationError, match="not signed"):
        certs.verify_device_cert(SERVICE_PUB, *DEVICE_FIELDS, sig, NOW)
    sig = certs.issue_period_cert(rogue, PERIOD_ID, ATTACKER, NOT_BEFORE, NOT_AFTER)
    with pytest.raises(certs.VerificationError, match="not signed"):
        certs.verify_period_cert(SERVICE_PUB, PERIOD_ID, ATTACKER, NOT_BEFORE, NOT_AFTER, sig, NOW)


def test_period_cert_refuses_a_key_it_does_not_certify() -> None:
    with pytest.raises(certs.VerificationError, match="not signed"):
        certs.verify_period_cert(
            SERVICE_PUB, PERIOD_ID, ATTACKER, NOT_BEFORE, NOT_AFTER, PER_SIG, NOW
        )


def test_expired_certificates() -> None:
    for now in (DEV_NOT_AFTER, DEV_NOT_AFTER + 86_400):
        with pytest.raises(certs.VerificationError, match="expired"):
            certs.verify_device_cert(SERVICE_PUB, *DEVICE_FIELDS, DEV_SIG, now)
    with pytest.raises(certs.VerificationError, match="expired"):
        certs.verify_period_cert(
            SERVICE_PUB, PERIOD_ID, PERIOD_PUB, NOT_BEFORE, NOT_AFTER, PER_SIG, NOT_AFTER
        )
    with pytest.raises(certs.VerificationError, match="not valid yet"):
        certs.verify_period_cert(
            SERVICE_PUB, PERIOD_ID, PERIOD_PUB, NOT_BEFORE, NOT_AFTER, PER_SIG, NOT_BEFORE - 1
        )


def test_expired_and_forged_is_reported_as_forged() -> None:
    with pytest.raises(certs.VerificationError, match="not signed"):
        certs.verify_device_cert(SERVICE_PUB, *DEVICE_FIELDS, bytes(64), DEV_NOT_AFTER + 1)


def _wire_cert(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "device_id": DEV["device_id"],
        "staff_id": DEV["staff_id"],
        "hpke_public_key": DEV["hpke_public"],
        "sig_public_key": DEV["sig_public"],
        "not_after": DEV_NOT_AFTER,
        "certificate": DEV["cert_signature"],
    }
    return {**fields, **changes}


def test_the_device_cert_type_reads_and_writes_the_wire_form_and_verifies_it() -> None:
    cert = certs.DeviceCert.from_dict(_wire_cert())
    assert cert.as_dict() == _wire_cert()
    assert certs.DeviceCert.from_dict(cert.as_dict()) == cert
    cert.verify(SERVICE_PUB, NOW)
    with pytest.raises(certs.VerificationError, match="expired"):
        cert.verify(SERVICE_PUB, DEV_NOT_AFTER)
    swapped = certs.DeviceCert.from_dict(_wire_cert(hpke_public_key=b64.encode(ATTACKER)))
    with pytest.raises(certs.VerificationError, match="not signed"):
        swapped.verify(SERVICE_PUB, NOW)


def test_a_malformed_device_cert_is_refused_before_any_check() -> None:
    with pytest.raises(KeyError):
        certs.DeviceCert.from_dict({k: v for k, v in _wire_cert().items() if k != "staff_id"})
    with pytest.raises(TypeError):
        certs.DeviceCert.from_dict(_wire_cert(device_id=12))
    with pytest.raises(ValueError, match="16 bytes"):
        certs.DeviceCert.from_dict(_wire_cert(staff_id="AAAA")).verify(SERVICE_PUB, NOW)
    with pytest.raises(ValueError, match="base64url"):
        certs.DeviceCert.from_dict(_wire_cert(certificate="*")).verify(SERVICE_PUB, NOW)


C_SEALED = D(V["wraps"]["counsellor"]["sealed"])
O_SEALED = D(V["wraps"]["organisation"]["sealed"])


@pytest.mark.parametrize(
    ("conv", "seg", "device_id", "sealed"),
    [
        (OTHER_ID, SEG, DEVICE_ID, C_SEALED),
        (CONV, SEG + 1, DEVICE_ID, C_SEALED),
        (CONV, SEG, OTHER_ID, C_SEALED),
        (CONV, SEG, PERIOD_ID, O_SEALED),
        (CONV, SEG, DEVICE_ID, C_SEALED[:-1]),
        (CONV, SEG, DEVICE_ID, C_SEALED[:65]),
        (CONV, SEG, DEVICE_ID, C_SEALED[:-1] + bytes([C_SEALED[-1] ^ 1])),
    ],
    ids=["conv", "seg", "device-id", "organisation-wrap", "truncated", "enc-only", "flipped"],
)
def test_device_wrap_refuses_wrong_info_or_tampering(
    conv: bytes, seg: int, device_id: bytes, sealed: bytes
) -> None:
    with pytest.raises(hpke.HpkeError):
        certs.open_segment_key_as_device(DEVICE_HPKE_KEY, sealed, conv, seg, device_id)


def test_organisation_wrap_refuses_the_counsellor_label() -> None:
    # Same conv, seg and id bytes: only the C/O label differs, and that must be enough.
    sealed = certs.seal_segment_key_to_device(PERIOD_PUB, K, CONV, SEG, PERIOD_ID)
    with pytest.raises(hpke.HpkeError):
        certs.open_segment_key_as_period(PERIOD_KEY, sealed, CONV, SEG, PERIOD_ID)
    with pytest.raises(hpke.HpkeError):
        certs.open_segment_key_as_period(DEVICE_HPKE_KEY, O_SEALED, CONV, SEG, PERIOD_ID)


def test_open_refuses_a_sealed_value_that_is_not_a_segment_key() -> None:
    sealed = hpke.seal(HPKE_PUB, certs.wrap_info_counsellor(CONV, SEG, DEVICE_ID), b"", b"short")
    with pytest.raises(hpke.HpkeError, match="32 bytes"):
        certs.open_segment_key_as_device(DEVICE_HPKE_KEY, sealed, CONV, SEG, DEVICE_ID)


ACCEPT_SIG = D(V["acceptance"]["signature"])


@pytest.mark.parametrize(
    ("sig_pub", "conv", "seg", "key"),
    [
        (SIG_PUB, OTHER_ID, SEG, K),
        (SIG_PUB, CONV, SEG + 1, K),
        (SIG_PUB, CONV, SEG, bytes(32)),
        (HPKE_PUB, CONV, SEG, K),
        (SERVICE_PUB, CONV, SEG, K),
    ],
    ids=["conv", "seg", "segment-key", "hpke-key", "service-key"],
)
def test_acceptance_refuses(sig_pub: bytes, conv: bytes, seg: int, key: bytes) -> None:
    with pytest.raises(certs.VerificationError):
        certs.verify_acceptance(sig_pub, conv, seg, key, ACCEPT_SIG)


def test_malformed_arguments() -> None:
    with pytest.raises(ValueError, match="staff_id"):
        certs.device_cert_message(b"short", DEVICE_ID, HPKE_PUB, SIG_PUB, 1)
    compressed = bytes([0x02]) + HPKE_PUB[1:33]
    with pytest.raises(ValueError, match="uncompressed"):
        certs.device_cert_message(STAFF_ID, DEVICE_ID, compressed, SIG_PUB, 1)
    with pytest.raises(ValueError, match="u64"):
        certs.period_cert_message(PERIOD_ID, PERIOD_PUB, -1, 1)
    with pytest.raises(ValueError, match="u32"):
        certs.wrap_info_counsellor(CONV, 2**32, DEVICE_ID)
    with pytest.raises(ValueError, match="segment key"):
        certs.seal_segment_key_to_device(HPKE_PUB, K[:16], CONV, SEG, DEVICE_ID)
    with pytest.raises(ValueError, match="segment key"):
        certs.commit(K + b"\x00")
