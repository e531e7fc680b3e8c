"""Certificates, sealed segment keys and acceptances: CRYPTO.md §2-3, byte for byte as in §8.

Mirrored by ``frontend/static/js/crypto/certs.js``. Ids (``staff_id``, ``device_id``,
``period_id``, ``conv``) are 16 bytes, ``seg`` a u32, times unix seconds written as u64, public
keys 65-byte uncompressed points, signatures 64-byte ``r ‖ s``, the segment key ``K`` 32 bytes.

Verification raises ``VerificationError`` (and returns ``None`` when the certificate or
acceptance holds), so that a forgotten check cannot pass silently as an ignored ``False``.
The young person's client must call ``verify_device_cert`` (or ``DeviceCert.verify``) and
``verify_period_cert`` before it seals anything to those keys: the seal functions take the keys
as given. ``DeviceCert`` is the one form of a device certificate in ``app/``: the database rows,
the HTTP API, the socket frames, the reference client and the transcript export all use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from app.crypto import hpke, sign
from app.crypto.message import hkdf, u32, u64
from app.kit import b64

SEGMENT_KEY_BYTES: Final = 32
ID_BYTES: Final = 16


class VerificationError(ValueError):
    """A certificate or acceptance not to be trusted: bad signature, expired, not yet valid."""


def _id(value: bytes, name: str) -> bytes:
    if len(value) != ID_BYTES:
        raise ValueError(f"{name} must be 16 bytes")
    return value


def _point(value: bytes, name: str) -> bytes:
    if len(value) != sign.PUBLIC_KEY_BYTES or value[0] != 0x04:
        raise ValueError(f"{name} must be a 65-byte uncompressed point")
    return value


def _segment(seg: int) -> bytes:
    if not 0 <= seg <= 0xFFFFFFFF:
        raise ValueError("seg must be a u32")
    return u32(seg)


def _time(value: int, name: str) -> int:
    if not 0 <= value < 2**64:
        raise ValueError(f"{name} must be a u64")
    return value


def _segment_key(key: bytes) -> bytes:
    if len(key) != SEGMENT_KEY_BYTES:
        raise ValueError("segment key must be 32 bytes")
    return key


# Certificates


def device_cert_message(
    staff_id: bytes, device_id: bytes, hpke_pub: bytes, sig_pub: bytes, not_after: int
) -> bytes:
    """``"vh/v1/device" ‖ staff_id ‖ device_id ‖ hpke_pub ‖ sig_pub ‖ u64 not_after``."""
    return (
        b"vh/v1/device"
        + _id(staff_id, "staff_id")
        + _id(device_id, "device_id")
        + _point(hpke_pub, "hpke_pub")
        + _point(sig_pub, "sig_pub")
        + u64(_time(not_after, "not_after"))
    )


def period_cert_message(
    period_id: bytes, period_pub: bytes, not_before: int, not_after: int
) -> bytes:
    """``"vh/v1/period" ‖ period_id ‖ period_pub ‖ u64 not_before ‖ u64 not_after``."""
    return (
        b"vh/v1/period"
        + _id(period_id, "period_id")
        + _point(period_pub, "period_pub")
        + u64(_time(not_before, "not_before"))
        + u64(_time(not_after, "not_after"))
    )


def issue_device_cert(
    service_key: ec.EllipticCurvePrivateKey,
    staff_id: bytes,
    device_id: bytes,
    hpke_pub: bytes,
    sig_pub: bytes,
    not_after: int,
    *,
    deterministic: bool = False,
) -> bytes:
    """The service key's 64-byte signature of the device certificate message."""
    message = device_cert_message(staff_id, device_id, hpke_pub, sig_pub, not_after)
    return sign.sign(service_key, message, deterministic=deterministic)


def issue_period_cert(
    service_key: ec.EllipticCurvePrivateKey,
    period_id: bytes,
    period_pub: bytes,
    not_before: int,
    not_after: int,
    *,
    deterministic: bool = False,
) -> bytes:
    """The service key's 64-byte signature of the period certificate message."""
    message = period_cert_message(period_id, period_pub, not_before, not_after)
    return sign.sign(service_key, message, deterministic=deterministic)


def verify_device_cert(
    service_pub: bytes,
    staff_id: bytes,
    device_id: bytes,
    hpke_pub: bytes,
    sig_pub: bytes,
    not_after: int,
    signature: bytes,
    now: int,
) -> None:
    """Refuse a device certificate unless the service key signed exactly these fields and
    ``now < not_after`` (unix seconds). Raises ``VerificationError``; returns when it holds."""
    message = device_cert_message(staff_id, device_id, hpke_pub, sig_pub, not_after)
    if not sign.verify(service_pub, message, signature):
        raise VerificationError("the device certificate is not signed by the service key")
    if _time(now, "now") >= not_after:
        raise VerificationError("the device certificate has expired")


def verify_period_cert(
    service_pub: bytes,
    period_id: bytes,
    period_pub: bytes,
    not_before: int,
    not_after: int,
    signature: bytes,
    now: int,
) -> None:
    """Refuse a period certificate unless the service key signed exactly these fields and
    ``not_before <= now < not_after``. Raises ``VerificationError``; returns when it holds."""
    message = period_cert_message(period_id, period_pub, not_before, not_after)
    if not sign.verify(service_pub, message, signature):
        raise VerificationError("the period certificate is not signed by the service key")
    if _time(now, "now") < not_before:
        raise VerificationError("the period certificate is not valid yet")
    if now >= not_after:
        raise VerificationError("the period certificate has expired")


@dataclass(frozen=True, slots=True)
class DeviceCert:
    """A counsellor device and its certificate as it travels (PROTOCOL.md §6.2): ids, public
    keys and the service key's signature in base64url, ``not_after`` in unix seconds.

    Holding one proves nothing: call ``verify`` before sealing to its keys or trusting its
    signatures. Mirrored by ``parseDeviceCert`` and ``verifyParsedDeviceCert`` in ``certs.js``.
    """

    device_id: str
    staff_id: str
    hpke_public_key: str
    sig_public_key: str
    not_after: int
    certificate: str

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeviceCert:
        """The certificate in a JSON object (a frame's or an answer's ``device``).

        Raises ``KeyError`` for a missing field, ``TypeError`` for a text field that is not a
        string and ``ValueError`` for a ``not_after`` that is not a number; the contents are
        checked by ``verify``.
        """
        texts = [raw[k] for k in ("device_id", "staff_id", "hpke_public_key", "sig_public_key")]
        certificate = raw["certificate"]
        if not all(isinstance(t, str) for t in [*texts, certificate]):
            raise TypeError("a device certificate's ids, keys and signature are strings")
        device_id, staff_id, hpke_public_key, sig_public_key = texts
        not_after = int(raw["not_after"])
        return cls(device_id, staff_id, hpke_public_key, sig_public_key, not_after, certificate)

    def as_dict(self) -> dict[str, object]:
        """The JSON object of PROTOCOL.md §6.2 (what ``from_dict`` reads back)."""
        return {
            "device_id": self.device_id,
            "staff_id": self.staff_id,
            "hpke_public_key": self.hpke_public_key,
            "sig_public_key": self.sig_public_key,
            "not_after": self.not_after,
            "certificate": self.certificate,
        }

    def verify(self, service_pub: bytes, now: int) -> None:
        """``verify_device_cert`` on the decoded fields: the service key signed exactly this
        device and ``now < not_after``. Raises ``VerificationError``, or ``ValueError`` for a
        field that is not base64url of the right length; returns when it holds."""
        verify_device_cert(
            service_pub,
            b64.decode(self.staff_id),
            b64.decode(self.device_id),
            b64.decode(self.hpke_public_key),
            b64.decode(self.sig_public_key),
            self.not_after,
            b64.decode(self.certificate),
            now,
        )


# Sealed segment keys (HPKE, empty aad)


def wrap_info_counsellor(conv: bytes, seg: int, device_id: bytes) -> bytes:
    """HPKE ``info`` for a counsellor device: ``"vh/v1/wrap|C|" ‖ conv ‖ u32 seg ‖ device_id``."""
    return b"vh/v1/wrap|C|" + _id(conv, "conv") + _segment(seg) + _id(device_id, "device_id")


def wrap_info_organisation(conv: bytes, seg: int, period_id: bytes) -> bytes:
    """HPKE ``info`` for the organisation: ``"vh/v1/wrap|O|" ‖ conv ‖ u32 seg ‖ period_id``."""
    return b"vh/v1/wrap|O|" + _id(conv, "conv") + _segment(seg) + _id(period_id, "period_id")


def seal_segment_key_to_device(
    hpke_pub: bytes,
    key: bytes,
    conv: bytes,
    seg: int,
    device_id: bytes,
    *,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """``enc ‖ ct``: ``K`` sealed to a device whose certificate the caller has verified.

    ``ephemeral`` is only for known-answer tests (see ``hpke.seal``).
    """
    info = wrap_info_counsellor(conv, seg, device_id)
    return hpke.seal(
        _point(hpke_pub, "hpke_pub"), info, b"", _segment_key(key), ephemeral=ephemeral
    )


def seal_segment_key_to_period(
    period_pub: bytes,
    key: bytes,
    conv: bytes,
    seg: int,
    period_id: bytes,
    *,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """``enc ‖ ct``: ``K`` sealed to a period key whose certificate the caller has verified."""
    info = wrap_info_organisation(conv, seg, period_id)
    return hpke.seal(
        _point(period_pub, "period_pub"), info, b"", _segment_key(key), ephemeral=ephemeral
    )


def _open_segment_key(sk_r: ec.EllipticCurvePrivateKey, sealed: bytes, info: bytes) -> bytes:
    key = hpke.open(sk_r, sealed, info, b"")
    if len(key) != SEGMENT_KEY_BYTES:
        raise hpke.HpkeError("segment key is not 32 bytes")
    return key


def open_segment_key_as_device(
    sk_r: ec.EllipticCurvePrivateKey, sealed: bytes, conv: bytes, seg: int, device_id: bytes
) -> bytes:
    """``K`` from a counsellor wrap with the device's HPKE key. Raises ``hpke.HpkeError``."""
    return _open_segment_key(sk_r, sealed, wrap_info_counsellor(conv, seg, device_id))


def open_segment_key_as_period(
    sk_r: ec.EllipticCurvePrivateKey, sealed: bytes, conv: bytes, seg: int, period_id: bytes
) -> bytes:
    """``K`` from an organisation wrap with the period private key. Raises ``hpke.HpkeError``."""
    return _open_segment_key(sk_r, sealed, wrap_info_organisation(conv, seg, period_id))


# Acceptance


def commit(key: bytes) -> bytes:
    """``HKDF(ikm = K, salt = 32 zero bytes, info = "vh/v1/commit", L = 32)``."""
    return hkdf(_segment_key(key), b"", b"vh/v1/commit", 32)


def acceptance_message(conv: bytes, seg: int, key: bytes, signed_at: int | None = None) -> bytes:
    """``"vh/v1/accept" ‖ conv ‖ u32 seg ‖ commit(K)``; with ``signed_at`` (issue 13 (6)) the
    timed form ``"vh/v1/accept-at" ‖ conv ‖ u32 seg ‖ u64 signed_at ‖ commit(K)``: the device's
    own clock at acceptance, so that a later reader checks the certificate at a signed time."""
    if signed_at is None:
        return b"vh/v1/accept" + _id(conv, "conv") + _segment(seg) + commit(key)
    return (
        b"vh/v1/accept-at"
        + _id(conv, "conv")
        + _segment(seg)
        + u64(_time(signed_at, "signed_at"))
        + commit(key)
    )


def sign_acceptance(
    sig_key: ec.EllipticCurvePrivateKey,
    conv: bytes,
    seg: int,
    key: bytes,
    *,
    signed_at: int | None = None,
    deterministic: bool = False,
) -> bytes:
    """The counsellor device's 64-byte signature accepting segment ``seg`` of ``conv`` under K
    (the timed form when ``signed_at`` is given)."""
    message = acceptance_message(conv, seg, key, signed_at)
    return sign.sign(sig_key, message, deterministic=deterministic)


def verify_acceptance(
    sig_pub: bytes,
    conv: bytes,
    seg: int,
    key: bytes,
    signature: bytes,
    signed_at: int | None = None,
) -> None:
    """Refuse an acceptance unless ``sig_pub`` (from a verified device certificate) signed this
    ``conv``, ``seg`` and ``K`` (and ``signed_at``, when given: the timed form). Raises
    ``VerificationError``; returns when it holds."""
    if not sign.verify(sig_pub, acceptance_message(conv, seg, key, signed_at), signature):
        raise VerificationError("the acceptance is not signed by the counsellor's device")


CLOCK_SKEW_SECONDS = 300
"""How far a signed time may lie ahead of the reader's clock (two clocks never agree)."""


def check_signed_time(device: DeviceCert, service_pub: bytes, signed_at: int, now: int) -> None:
    """Refuse a timed acceptance's ``signed_at`` unless it is plausible (not after ``now`` plus
    ``CLOCK_SKEW_SECONDS``) and ``device``'s certificate was valid then. Raises
    ``VerificationError``; returns when it holds."""
    if signed_at > now + CLOCK_SKEW_SECONDS:
        raise VerificationError("the acceptance is signed at a time still to come")
    device.verify(service_pub, signed_at)
