"""Transcript signatures: a counsellor device signs what it holds of one segment (issue 13 (5)).

Mirrored by ``frontend/static/js/crypto/transcript.js``; docs/PROTOCOL.md "Transcript
signatures" is the prose form, ``tests/vectors/v1.json`` ("transcript") the known answers.

- envelope digest ``d = SHA-256(aad ‖ ct)``, the binary AAD of CRYPTO.md §8 (fixed length, so
  the concatenation is unambiguous);
- segment digest ``T = SHA-256("vh/v1/transcript" ‖ conv ‖ u32 seg ‖ u32 n ‖ d_1 ‖ … ‖ d_n)``
  over the envelopes sorted by (role byte, inst bytes, seq): the same set gives the same ``T``
  whatever order each side received it in;
- signed message ``"vh/v1/transcript-sig" ‖ conv ‖ u32 seg ‖ u32 n ‖ T``, ECDSA P-256 by the
  device's certified signing key.

``covers`` names the signed envelopes, per stream (role, inst) as inclusive seq ranges, so that
a reader holding more envelopes than were signed (one written after the signature, a forged
one) can find the signed ones and say which are not covered. ``T`` binds every (role, inst,
seq) through the AAD, so a wrong ``covers`` only makes the check fail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from app.crypto import sign
from app.crypto.certs import VerificationError
from app.crypto.message import CS, aad, u32
from app.kit import b64

DIGEST_BYTES: Final = 32
U32_MAX: Final = 2**32 - 1
SEQ_MAX: Final = 2**63 - 1
#: Bounds on ``covers`` (a segment has few streams: one per page load or client run).
MAX_STREAMS: Final = 64
MAX_RANGES: Final = 1024
#: Most envelopes one signature may cover (far more than any chat segment holds).
MAX_COVERED: Final = 100_000

_TRANSCRIPT: Final = b"vh/v1/transcript"
_SIGNATURE: Final = b"vh/v1/transcript-sig"

#: One envelope's place: (role, inst as 16 bytes, seq).
EnvelopeId = tuple[str, bytes, int]


def envelope_digest(
    conv: bytes, seg: int, role: str, inst: bytes, seq: int, ct: bytes, *, cs: int = CS
) -> bytes:
    """``SHA-256(aad ‖ ct)`` of one envelope (``ct`` with its tag, as sent)."""
    return hashlib.sha256(aad(cs, conv, seg, role, inst, seq) + ct).digest()


def _u32(value: int, name: str) -> bytes:
    if not 0 <= value <= U32_MAX:
        raise ValueError(f"{name} must be a u32")
    return u32(value)


def _conv(conv: bytes) -> bytes:
    if len(conv) != 16:
        raise ValueError("conv must be 16 bytes")
    return conv


def transcript_digest(conv: bytes, seg: int, items: Iterable[tuple[EnvelopeId, bytes]]) -> bytes:
    """``T`` over ``(id, d)`` pairs, sorted here by (role, inst, seq); ids must be distinct."""
    ordered = sorted(items, key=lambda item: (item[0][0].encode("ascii"), item[0][1], item[0][2]))
    ids = [item[0] for item in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("an envelope is listed twice")
    digests = [item[1] for item in ordered]
    if any(len(d) != DIGEST_BYTES for d in digests):
        raise ValueError("an envelope digest is 32 bytes")
    head = _TRANSCRIPT + _conv(conv) + _u32(seg, "seg") + _u32(len(digests), "n")
    return hashlib.sha256(head + b"".join(digests)).digest()


def signature_message(conv: bytes, seg: int, n: int, digest: bytes) -> bytes:
    """``"vh/v1/transcript-sig" ‖ conv ‖ u32 seg ‖ u32 n ‖ T``."""
    if len(digest) != DIGEST_BYTES:
        raise ValueError("the transcript digest is 32 bytes")
    return _SIGNATURE + _conv(conv) + _u32(seg, "seg") + _u32(n, "n") + digest


def sign_transcript(
    sig_key: ec.EllipticCurvePrivateKey,
    conv: bytes,
    seg: int,
    n: int,
    digest: bytes,
    *,
    deterministic: bool = False,
) -> bytes:
    """The device's 64-byte signature of segment ``seg``'s digest over ``n`` envelopes."""
    return sign.sign(sig_key, signature_message(conv, seg, n, digest), deterministic=deterministic)


def verify_transcript(
    sig_pub: bytes, conv: bytes, seg: int, n: int, digest: bytes, signature: bytes
) -> None:
    """Refuse unless ``sig_pub`` (from a verified device certificate) signed this digest.
    Raises ``VerificationError``; returns when it holds."""
    try:
        message = signature_message(conv, seg, n, digest)
    except ValueError as exc:
        raise VerificationError(str(exc)) from None
    if not sign.verify(sig_pub, message, signature):
        raise VerificationError("the transcript signature is not the counsellor device's")


# ---------------------------------------------------------------------- covers


def covers_of(ids: Iterable[EnvelopeId]) -> list[dict[str, Any]]:
    """The ``covers`` of a set of envelope ids: streams sorted, each seq list as ranges."""
    streams: dict[tuple[str, bytes], list[int]] = {}
    for role, inst, seq in ids:
        streams.setdefault((role, inst), []).append(seq)
    out = []
    for (role, inst), seqs in sorted(streams.items(), key=lambda s: (s[0][0], s[0][1])):
        ranges: list[list[int]] = []
        for seq in sorted(set(seqs)):
            if ranges and ranges[-1][1] == seq - 1:
                ranges[-1][1] = seq
            else:
                ranges.append([seq, seq])
        out.append({"role": role, "inst": b64.encode(inst), "seqs": ranges})
    return out


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_covers(raw: object) -> frozenset[EnvelopeId]:
    """The envelope ids of a ``covers`` list; ``ValueError`` for any other shape: unknown
    keys, a repeated stream, ranges out of order or overlapping, more than the bounds
    (``MAX_STREAMS``, ``MAX_RANGES``, ``MAX_COVERED``: counted before anything is expanded)."""
    if not isinstance(raw, list) or len(raw) > MAX_STREAMS:
        raise ValueError(f"covers is a list of at most {MAX_STREAMS} streams")
    streams: dict[tuple[str, bytes], list[tuple[int, int]]] = {}
    ranges_seen = covered = 0
    for stream in raw:
        if not isinstance(stream, dict) or set(stream) != {"role", "inst", "seqs"}:
            raise ValueError("a stream of covers is {role, inst, seqs}")
        role, inst_text, seqs = stream["role"], stream["inst"], stream["seqs"]
        if role not in ("Y", "C"):
            raise ValueError("role must be Y or C")
        if not isinstance(inst_text, str) or not b64.is_b64url(inst_text, nbytes=16):
            raise ValueError("inst must be 16 bytes of base64url")
        inst = b64.decode(inst_text)
        if (role, inst) in streams:
            raise ValueError("a stream is listed twice")
        if not isinstance(seqs, list) or not seqs:
            raise ValueError("seqs is a non-empty list of [first, last] ranges")
        ranges_seen += len(seqs)
        if ranges_seen > MAX_RANGES:
            raise ValueError(f"covers has at most {MAX_RANGES} ranges")
        ranges, previous = [], 0
        for pair in seqs:
            if not (isinstance(pair, list) and len(pair) == 2 and all(map(_is_int, pair))):
                raise ValueError("a range is [first, last]")
            first, last = pair
            if not previous < first <= last <= SEQ_MAX:
                raise ValueError("ranges are ascending, apart and within 1..2^63-1")
            covered += last - first + 1
            if covered > MAX_COVERED:
                raise ValueError(f"covers names more than {MAX_COVERED} envelopes")
            ranges.append((first, last))
            previous = last + 1
        streams[(role, inst)] = ranges
    return frozenset(
        (role, inst, seq)
        for (role, inst), ranges in streams.items()
        for first, last in ranges
        for seq in range(first, last + 1)
    )


@dataclass(frozen=True, slots=True)
class SignedTranscript:
    """A ``transcript_sig`` as sent and stored: the segment, the covered envelopes and the
    device's signature over their digest (binary fields decoded)."""

    conv: bytes
    seg: int
    n: int
    digest: bytes
    sig: bytes
    covers: frozenset[EnvelopeId]

    def verify(self, sig_pub: bytes, envelopes: Mapping[EnvelopeId, bytes]) -> None:
        """Refuse unless the signature holds and ``envelopes`` (id -> ``d``) hold every covered
        one with the signed digest. Raises ``VerificationError`` with the reason."""
        if len(self.covers) != self.n:
            raise VerificationError("the signature names a different number of envelopes")
        missing = [i for i in self.covers if i not in envelopes]
        if missing:
            raise VerificationError(
                f"{len(missing)} signed envelope{'s are' if len(missing) > 1 else ' is'} missing"
            )
        verify_transcript(sig_pub, self.conv, self.seg, self.n, self.digest, self.sig)
        mine = transcript_digest(self.conv, self.seg, ((i, envelopes[i]) for i in self.covers))
        if mine != self.digest:
            raise VerificationError("the signed envelopes differ from the ones held")


def digest_map(
    conv: bytes, seg: int, envelopes: Sequence[tuple[str, bytes, int, bytes]]
) -> dict[EnvelopeId, bytes]:
    """``id -> d`` for ``(role, inst, seq, ct)`` envelopes of segment ``seg``."""
    return {
        (role, inst, seq): envelope_digest(conv, seg, role, inst, seq, ct)
        for role, inst, seq, ct in envelopes
    }


def make_signature(
    sig_key: ec.EllipticCurvePrivateKey,
    conv: bytes,
    seg: int,
    envelopes: Mapping[EnvelopeId, bytes],
) -> dict[str, Any]:
    """The ``transcript_sig`` frame (without ``type``) signing ``envelopes`` (id -> ``d``)."""
    digest = transcript_digest(conv, seg, envelopes.items())
    n = len(envelopes)
    return {
        "conv": b64.encode(conv),
        "seg": seg,
        "n": n,
        "digest": b64.encode(digest),
        "sig": b64.encode(sign_transcript(sig_key, conv, seg, n, digest)),
        "covers": covers_of(envelopes),
    }
