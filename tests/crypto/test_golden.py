"""The project golden file ``tests/vectors/v1.json`` (CRYPTO.md §7).

``make_v1.build()`` must reproduce the committed file byte for byte (it runs PBKDF2 at 600 000
iterations once). The other tests read the file alone, as the browser does: every signature in it
verifies, every seal and wrap opens to what it claims, and the message envelope decrypts.
"""

from __future__ import annotations

from typing import Any

import pytest

from app import crypto
from app.chat.envelope import parse_envelope
from app.crypto import certs, hpke, returncode, transcript
from app.kit import b64
from tests.vectors import GOLDEN_PATH, load, make_v1

G = load(GOLDEN_PATH)
D = b64.decode
CONV = D(G["conv"])
SEG: int = G["seg"]
K = D(G["segment_key"])
SERVICE_PUB = D(G["service_key"]["public"])
DEV, PER = G["device"], G["period"]


def test_make_v1_reproduces_the_committed_file() -> None:
    assert make_v1.render(make_v1.build()) == GOLDEN_PATH.read_text("utf-8")


def test_every_section_is_documented() -> None:
    assert G["about"]
    sections = ("service_key", "device", "period", "hpke", "wraps", "acceptance", "acceptance_at")
    for section in sections:
        assert G[section]["about"], section
    assert G["return_code"]["about"]
    assert G["message"]["about"]


@pytest.mark.parametrize(
    "entry",
    [
        G["service_key"],
        DEV["hpke"],
        DEV["sig"],
        PER,
        *(e["recipient"] for e in G["hpke"]["entries"]),
    ],
)
def test_keys_agree(entry: dict[str, str]) -> None:
    from_scalar = hpke.private_key_from_scalar(D(entry["scalar"]))
    from_pkcs8 = hpke.load_private_key(D(entry["pkcs8"]))
    assert hpke.public_key_bytes(from_scalar) == hpke.public_key_bytes(from_pkcs8)
    assert b64.encode(hpke.public_key_bytes(from_pkcs8)) == entry["public"]


def test_certificates_verify() -> None:
    hpke_pub, sig_pub = D(DEV["hpke"]["public"]), D(DEV["sig"]["public"])
    staff_id, device_id = D(DEV["staff_id"]), D(DEV["device_id"])
    message = certs.device_cert_message(staff_id, device_id, hpke_pub, sig_pub, DEV["not_after"])
    assert b64.encode(message) == DEV["cert_message"]
    certs.verify_device_cert(
        SERVICE_PUB,
        staff_id,
        device_id,
        hpke_pub,
        sig_pub,
        DEV["not_after"],
        D(DEV["cert_signature"]),
        DEV["not_after"] - 1,
    )
    period_id, period_pub = D(PER["period_id"]), D(PER["public"])
    message = certs.period_cert_message(period_id, period_pub, PER["not_before"], PER["not_after"])
    assert b64.encode(message) == PER["cert_message"]
    certs.verify_period_cert(
        SERVICE_PUB,
        period_id,
        period_pub,
        PER["not_before"],
        PER["not_after"],
        D(PER["cert_signature"]),
        PER["not_before"],
    )


@pytest.mark.parametrize("entry", G["hpke"]["entries"], ids=lambda e: f"aes-{8 * e['key_length']}")
def test_hpke_entries(entry: dict[str, Any]) -> None:
    n = entry["key_length"]
    sk_r = hpke.private_key_from_scalar(D(entry["recipient"]["scalar"]))
    sk_e = hpke.private_key_from_scalar(D(entry["ephemeral"]["scalar"]))
    pk_r, info, aad, pt = (
        D(entry["recipient"]["public"]),
        D(entry["info"]),
        D(entry["aad"]),
        D(entry["pt"]),
    )
    shared_secret, enc = hpke.encap(pk_r, sk_e)
    assert b64.encode(enc) == entry["enc"] == entry["ephemeral"]["public"]
    assert b64.encode(shared_secret) == entry["shared_secret"]
    schedule = hpke.key_schedule(shared_secret, info, key_length=n)
    assert b64.encode(schedule.key) == entry["key"]
    assert b64.encode(schedule.base_nonce) == entry["base_nonce"]
    sealed = hpke.seal(pk_r, info, aad, pt, key_length=n, ephemeral=sk_e)
    assert b64.encode(sealed) == entry["sealed"]
    assert hpke.open(sk_r, D(entry["sealed"]), info, aad, key_length=n) == pt


def test_wraps_open_to_the_segment_key() -> None:
    w = G["wraps"]
    device_key = hpke.load_private_key(D(DEV["hpke"]["pkcs8"]))
    period_key = hpke.load_private_key(D(PER["pkcs8"]))
    device_id, period_id = D(DEV["device_id"]), D(PER["period_id"])
    c_sealed, o_sealed = D(w["counsellor"]["sealed"]), D(w["organisation"]["sealed"])
    assert certs.open_segment_key_as_device(device_key, c_sealed, CONV, SEG, device_id) == K
    assert certs.open_segment_key_as_period(period_key, o_sealed, CONV, SEG, period_id) == K
    assert c_sealed[:65] == D(w["counsellor"]["ephemeral"]["public"])


def test_acceptance_verifies() -> None:
    a = G["acceptance"]
    assert b64.encode(certs.acceptance_message(CONV, SEG, K)) == a["message"]
    certs.verify_acceptance(D(DEV["sig"]["public"]), CONV, SEG, K, D(a["signature"]))


def test_timed_acceptance_verifies_and_checks_the_certificate_at_the_signed_time() -> None:
    """The timed acceptance binds its signed_at: the vector verifies with it, not without it
    or with another time; the certificate is checked at that signed time, not a claimed one."""
    a = G["acceptance_at"]
    at, sig, sig_pub = a["signed_at"], D(a["signature"]), D(DEV["sig"]["public"])
    assert b64.encode(certs.acceptance_message(CONV, SEG, K, at)) == a["message"]
    certs.verify_acceptance(sig_pub, CONV, SEG, K, sig, at)
    for other in (None, at - 1, at + 1):
        with pytest.raises(certs.VerificationError):
            certs.verify_acceptance(sig_pub, CONV, SEG, K, sig, other)
    device = certs.DeviceCert(
        DEV["device_id"], DEV["staff_id"], DEV["hpke"]["public"], DEV["sig"]["public"],
        DEV["not_after"], DEV["cert_signature"],
    )  # fmt: skip
    certs.check_signed_time(device, SERVICE_PUB, at, now=at)
    # Read long after the certificate expired: still valid at the signed time.
    certs.check_signed_time(device, SERVICE_PUB, at, now=a["expired_at"] + 10**8)
    with pytest.raises(certs.VerificationError, match="expired"):
        certs.check_signed_time(device, SERVICE_PUB, a["expired_at"], now=a["expired_at"])
    # A signed time ahead of the reader's clock by more than the skew is refused.
    certs.check_signed_time(device, SERVICE_PUB, at, now=at - a["clock_skew"])
    with pytest.raises(certs.VerificationError, match="to come"):
        certs.check_signed_time(device, SERVICE_PUB, at, now=at - a["clock_skew"] - 1)


def test_return_code() -> None:
    r = G["return_code"]
    assert returncode.normalise_code(r["typed"]) == r["code"]
    assert returncode.format_code(r["code"]) == r["formatted"]
    assert b64.encode(returncode.locator(r["typed"])) == r["locator"]
    low = r["kek_low"]
    assert b64.encode(returncode.kek(r["code"], D(r["salt"]), low["iterations"])) == low["kek"]
    assert b64.encode(returncode.return_aad(CONV, SEG)) == r["aad"]
    assert returncode.unwrap_with_code(D(r["kek"]), D(r["nonce"]), D(r["wrap"]), CONV, SEG) == K


def test_message_envelope_decrypts() -> None:
    m = G["message"]
    inst = D(m["inst"])
    ct = D(m["ct"])
    assert crypto.decrypt_message(K, CONV, SEG, m["role"], inst, m["seq"], ct) == m["plaintext_obj"]
    envelope = parse_envelope(m["envelope"])
    assert (envelope.seq, envelope.ct) == (m["seq"], m["ct"])


def test_transcript_signature_verifies_and_its_digests_reproduce() -> None:
    t = G["transcript"]
    held = {}
    for entry in t["envelopes"]:
        e = parse_envelope(entry["envelope"])
        inst, ct = D(e.inst), D(e.ct)
        assert crypto.decrypt_message(K, CONV, SEG, e.role, inst, e.seq, ct)["type"] == "text"
        digest = transcript.envelope_digest(CONV, SEG, e.role, inst, e.seq, ct)
        assert b64.encode(digest) == entry["digest"]
        held[(e.role, inst, e.seq)] = digest
    assert transcript.covers_of(held) == t["covers"]
    assert transcript.parse_covers(t["covers"]) == frozenset(held)
    digest = transcript.transcript_digest(CONV, SEG, held.items())
    assert b64.encode(digest) == t["digest"]
    assert b64.encode(transcript.signature_message(CONV, SEG, t["n"], digest)) == t["message"]
    signed = transcript.SignedTranscript(
        CONV, SEG, t["n"], digest, D(t["signature"]), transcript.parse_covers(t["covers"])
    )
    signed.verify(D(DEV["sig"]["public"]), held)
