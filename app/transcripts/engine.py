"""Pure rules of the transcript export: which segments a period key opens, whether a counsellor
device accepted them, and the messages in order. Crypto only, no I/O.

Inputs are plain frozen dataclasses (the service copies rows into them), so every rule can be
tested without a database. Nothing here logs: plaintext leaves only through the ``Transcript``
the caller renders to the export's destination.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from app.chat.envelope import Envelope
from app.crypto import certs, hpke, message
from app.kit import b64

SegmentStatus = Literal[
    "verified",  # opened, device certified, acceptance verified
    "unverified",  # opened, but the certificate or acceptance does not hold
    "other_period",  # sealed to another period key, or to none at all
    "no_period_wrap",  # meant for this period but no organisation wrap was stored
    "wrap_unopenable",  # the organisation wrap does not open with this key
    "no_segment",  # envelopes name a segment that has no key record
]
READABLE: Final = frozenset({"verified", "unverified"})
NOT_READABLE: Final = "not readable with this key"


class ExportRefused(Exception):
    """The export cannot go on; ``str(exc)`` is a one-line reason without plaintext."""


class NotTrusted(ExportRefused):
    """A segment opens but no certified counsellor device accepted it."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    seg: int
    device_id: str
    period_id: str | None
    wrap_o: str | None
    accept_sig: str | None
    created_at: float
    #: The time signed into a timed acceptance (PROTOCOL.md §6.3); ``None``: the untimed form.
    accept_at: int | None = None


@dataclass(frozen=True, slots=True)
class StoredEnvelope:
    """An envelope as stored: its row id is the server's order of arrival."""

    stored_id: int
    envelope: Envelope

    @property
    def stream(self) -> tuple[int, str, str]:
        return (self.envelope.seg, self.envelope.role, self.envelope.inst)


@dataclass(frozen=True, slots=True)
class SegmentReport:
    seg: int
    status: SegmentStatus
    #: Why it is not verified or not readable; empty when verified.
    reason: str
    device_id: str | None
    staff_id: str | None
    envelopes: int
    #: The transcript signature's status (``signatures.SignatureStatus``) and why, once checked.
    signature: str | None = None
    signature_reason: str = ""
    #: For a verified segment: ``signed`` when the certificate was checked at the time the
    #: device signed into its acceptance, ``unverified`` at the stored ``created_at`` (an
    #: untimed acceptance, PROTOCOL.md §6.3); None otherwise.
    accept_time: str | None = None

    @property
    def readable(self) -> bool:
        return self.status in READABLE


@dataclass(frozen=True, slots=True)
class OpenedSegment:
    report: SegmentReport
    #: The segment key ``K`` when the segment is readable.
    key: bytes | None


@dataclass(frozen=True, slots=True)
class Message:
    """One envelope of a readable segment: its plaintext object, or why it did not open."""

    stored_id: int
    seg: int
    role: str
    inst: str
    seq: int
    body: dict[str, Any] | None
    error: str | None
    #: Covered by the segment's counsellor signature (``app/transcripts/signatures.py``).
    signed: bool = False
    #: Role Y: whether the young person's page signed it (``app/transcripts/senders.py``).
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """Envelopes missing from a stream: ``seq`` jumps from ``after`` to ``next``."""

    seg: int
    role: str
    inst: str
    after: int
    next: int


@dataclass(frozen=True, slots=True)
class Transcript:
    conversation_id: str
    opened_at: float
    closed_at: float | None
    period_id: str
    period_fingerprint: str
    exported_at: float
    segments: tuple[SegmentReport, ...]
    messages: tuple[Message, ...]
    gaps: tuple[Gap, ...]

    @property
    def decrypted(self) -> int:
        return sum(1 for m in self.messages if m.body is not None)

    @property
    def undecryptable(self) -> int:
        return sum(1 for m in self.messages if m.body is None)

    @property
    def unsigned(self) -> int:
        """Messages no counsellor signature covers."""
        return sum(1 for m in self.messages if not m.signed)

    @property
    def not_from_youth_page(self) -> int:
        """Young person's messages whose page signature is missing or does not hold."""
        return sum(1 for m in self.messages if m.sender in ("unsigned", "bad_signature"))

    @property
    def unverified_segments(self) -> list[int]:
        return [s.seg for s in self.segments if s.status == "unverified"]


def open_segment(
    segment: SegmentInfo,
    *,
    conv: bytes,
    period_id: str,
    period_key: ec.EllipticCurvePrivateKey,
    device: certs.DeviceCert | None,
    service_public_key: bytes,
    envelopes: int,
) -> OpenedSegment:
    """Open one segment's organisation wrap and check who accepted it.

    The device certificate must verify under ``service_public_key`` and must have been valid
    when the segment was accepted (certificates expire after 7 days, transcripts are read later):
    at the time the device signed into a timed acceptance, else at the stored ``created_at``; the
    acceptance must be the certified device's signature over ``conv``, ``seg``, ``K`` (and that
    time).
    A segment that opens but fails either check is ``unverified``: the caller decides whether
    to refuse. Never raises for bad data; raises ``ValueError`` only for a malformed ``conv``.
    """

    def report(status: SegmentStatus, reason: str = "") -> SegmentReport:
        staff_id = device.staff_id if device is not None else None
        return SegmentReport(segment.seg, status, reason, segment.device_id, staff_id, envelopes)

    if segment.period_id is None:
        return OpenedSegment(report("other_period", "no period key was valid at pairing"), None)
    if segment.period_id != period_id:
        return OpenedSegment(report("other_period", "sealed to another period key"), None)
    if segment.wrap_o is None:
        return OpenedSegment(report("no_period_wrap", "no organisation wrap was stored"), None)
    try:
        key = certs.open_segment_key_as_period(
            period_key, b64.decode(segment.wrap_o), conv, segment.seg, b64.decode(period_id)
        )
    except (hpke.HpkeError, ValueError):
        return OpenedSegment(report("wrap_unopenable", "the organisation wrap does not open"), None)
    problem = _acceptance_problem(segment, conv, key, device, service_public_key)
    if problem:
        return OpenedSegment(report("unverified", problem), key)
    timed = "signed" if segment.accept_at is not None else "unverified"
    return OpenedSegment(replace(report("verified"), accept_time=timed), key)


def _acceptance_problem(
    segment: SegmentInfo,
    conv: bytes,
    key: bytes,
    device: certs.DeviceCert | None,
    service_public_key: bytes,
) -> str:
    """Empty when a certified device accepted this segment; otherwise why not."""
    if device is None:
        return "the segment's device is not in the database"
    try:
        at = segment.accept_at if segment.accept_at is not None else int(segment.created_at)
        device.verify(service_public_key, at)
    except certs.VerificationError as exc:
        return f"device certificate refused: {exc}"
    except ValueError:
        return "device certificate refused: malformed device record"
    if segment.accept_sig is None:
        return "the counsellor's device never signed an acceptance"
    try:
        sig_public_key, signature = (
            b64.decode(device.sig_public_key),
            b64.decode(segment.accept_sig),
        )
        certs.verify_acceptance(
            sig_public_key, conv, segment.seg, key, signature, segment.accept_at
        )
    except (certs.VerificationError, ValueError):
        return "the acceptance signature does not verify"
    return ""


def unknown_segments(
    envelopes: Iterable[StoredEnvelope], known: Iterable[int]
) -> list[SegmentReport]:
    """A ``no_segment`` report for each segment number that envelopes use but no record has."""
    have = set(known)
    counts: dict[int, int] = defaultdict(int)
    for stored in envelopes:
        if stored.envelope.seg not in have:
            counts[stored.envelope.seg] += 1
    return [
        SegmentReport(seg, "no_segment", "no key record for this segment", None, None, n)
        for seg, n in sorted(counts.items())
    ]


def in_order(envelopes: Sequence[StoredEnvelope]) -> list[StoredEnvelope]:
    """Stored order (by id), except that each stream keeps ascending ``seq``.

    The positions a stream takes in stored order are refilled with that stream's envelopes
    sorted by ``seq``: the timeline between streams stays the server's, and a resent envelope
    that was stored late still reads in its sender's order.
    """
    by_id = sorted(envelopes, key=lambda e: e.stored_id)
    slots: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for position, stored in enumerate(by_id):
        slots[stored.stream].append(position)
    ordered = list(by_id)
    for positions in slots.values():
        sorted_stream = sorted((by_id[p] for p in positions), key=lambda e: e.envelope.seq)
        for position, envelope in zip(positions, sorted_stream, strict=True):
            ordered[position] = envelope
    return ordered


def find_gaps(envelopes: Iterable[StoredEnvelope]) -> list[Gap]:
    """Each place where a stream's ``seq`` does not go 1, 2, 3, …"""
    streams: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for stored in envelopes:
        streams[stored.stream].append(stored.envelope.seq)
    gaps = []
    for (seg, role, inst), seqs in sorted(streams.items()):
        previous = 0
        for seq in sorted(seqs):
            if seq > previous + 1:
                gaps.append(Gap(seg, role, inst, previous, seq))
            previous = seq
    return gaps


def decrypt(key: bytes, conv: bytes, stored: StoredEnvelope) -> Message:
    """The envelope opened under ``K``, or a ``Message`` whose ``error`` says it did not open."""
    envelope = stored.envelope
    try:
        body = message.decrypt_message(
            key,
            conv,
            envelope.seg,
            envelope.role,
            b64.decode(envelope.inst),
            envelope.seq,
            b64.decode(envelope.ct),
        )
    except message.MessageError as exc:
        return _message(stored, None, str(exc))
    except (ValueError, OverflowError):
        return _message(stored, None, "the envelope's header is malformed")
    return _message(stored, body, None)


def _message(stored: StoredEnvelope, body: dict[str, Any] | None, error: str | None) -> Message:
    e = stored.envelope
    return Message(stored.stored_id, e.seg, e.role, e.inst, e.seq, body, error)
