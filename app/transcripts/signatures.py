"""Pure rules of the export's transcript-signature check (issue 13 (5), PROTOCOL.md §6.6).

A segment's counsellor device signs, at each transfer and at close, the digest of every envelope
of the segment it holds (``app/crypto/transcript.py``). Anyone holding the segment key ``K`` can
write an envelope under either role, so the export says of each message whether that signature
covers it. It never hides a message: one written after the last signature, in a segment with
none, or under a signature that does not verify is shown and marked "not covered".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from app.crypto import certs, transcript
from app.kit import b64
from app.transcripts.engine import StoredEnvelope

SignatureStatus = Literal[
    "signed",  # the certified device's signature holds over the envelopes it names
    "none",  # no signature was stored for this segment
    "invalid",  # a signature is stored but does not hold (or its device is not trusted)
]
SIGNED: Final = "signed by the counsellor's device"
NOT_COVERED: Final = "not covered by a counsellor signature"


@dataclass(frozen=True, slots=True)
class StoredSignature:
    """A ``transcript_sigs`` row: the device's latest signature of the segment."""

    seg: int
    device_id: str
    n: int
    digest: str
    sig: str
    covers: str
    signed_at: float


@dataclass(frozen=True, slots=True)
class SignatureReport:
    status: SignatureStatus
    #: Why not ``signed``; empty when it is.
    reason: str
    #: The envelopes the signature covers, as (role, inst base64url, seq); empty unless signed.
    covered: frozenset[tuple[str, str, int]]
    signed_at: float | None

    def covers(self, stored: StoredEnvelope) -> bool:
        e = stored.envelope
        return (e.role, e.inst, e.seq) in self.covered


def _invalid(reason: str, signed_at: float) -> SignatureReport:
    return SignatureReport("invalid", reason, frozenset(), signed_at)


def check(
    conv: bytes,
    seg: int,
    signature: StoredSignature | None,
    sig_public_key: str | None,
    envelopes: Iterable[StoredEnvelope],
) -> SignatureReport:
    """The signature of segment ``seg`` checked against its stored ``envelopes``.

    ``sig_public_key`` is the segment device's signing key, given only when its certificate and
    acceptance verified (the caller's ``SegmentReport`` says ``verified``); ``None`` makes any
    signature ``invalid``. Never raises for bad data.
    """
    if signature is None:
        return SignatureReport("none", "the counsellor's device never signed it", frozenset(), None)
    at = signature.signed_at
    if sig_public_key is None:
        return _invalid("the segment's device is not verified", at)
    held = {}
    try:
        for stored in envelopes:
            e = stored.envelope
            inst = b64.decode(e.inst)
            held[(e.role, inst, e.seq)] = transcript.envelope_digest(
                conv, seg, e.role, inst, e.seq, b64.decode(e.ct)
            )
        signed = transcript.SignedTranscript(
            conv=conv,
            seg=seg,
            n=signature.n,
            digest=b64.decode(signature.digest),
            sig=b64.decode(signature.sig),
            covers=transcript.parse_covers(_json(signature.covers)),
        )
        signed.verify(b64.decode(sig_public_key), held)
    except certs.VerificationError as exc:
        return _invalid(f"the signature does not hold: {exc}", at)
    except (ValueError, OverflowError):
        return _invalid("the stored signature is malformed", at)
    covered = frozenset((role, b64.encode(inst), seq) for role, inst, seq in signed.covers)
    return SignatureReport("signed", "", covered, at)


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("covers is not JSON") from None
