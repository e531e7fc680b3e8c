"""Export one conversation's transcript with an organisation period key (CRYPTO.md §2-§4).

Reads, verifies, decrypts and audits in the caller's transaction; never commits, never prints,
never logs. The caller must commit (so that the audit row is durable) before it writes the
returned plaintext anywhere.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.chat.envelope import Envelope as ChatEnvelope
from app.chat.sealing import Sealer, period_place
from app.crypto import certs, hpke, sign
from app.keys import devices as keys_devices
from app.keys import engine as keys_engine
from app.kit import b64
from app.models import Device, Envelope, PeriodKey, Segment
from app.transcripts import engine, senders, signatures
from app.transcripts import repository as repo
from app.transcripts.engine import ExportRefused

AUDIT_ACTION = "transcript_export"


async def export_transcript(
    session: AsyncSession,
    sealer: Sealer,
    *,
    conversation_id: str,
    period_key: ec.EllipticCurvePrivateKey,
    service_public_key: bytes,
    allow_unverified: bool,
    now: float,
) -> engine.Transcript:
    """Decrypt every envelope of the segments that ``period_key`` opens, after checking that a
    device certified by ``service_public_key`` accepted each of them, and add an audit row.

    Raises ``ExportRefused`` (nothing audited, nothing decrypted) when the conversation is
    unknown; the period key is not registered, not certified or destroyed; no segment opens
    with it; or, unless ``allow_unverified``, a segment that opens lacks a valid acceptance.
    With ``allow_unverified`` such segments are decrypted and reported as ``unverified``.
    """
    conv = _conversation_bytes(conversation_id)
    conversation = None if conv is None else await repo.conversation_by_id(session, conversation_id)
    if conversation is None or conv is None:
        raise ExportRefused(f"no conversation {conversation_id!r}")
    period = await _usable_period(session, period_key, service_public_key)

    segment_rows = await repo.segments_of(session, conversation_id)
    envelopes = [_stored(row) for row in await repo.envelopes_of(session, conversation_id)]
    devices = await repo.devices_by_id(session, {row.device_id for row in segment_rows})
    per_segment = Counter(stored.envelope.seg for stored in envelopes)
    opened = [
        engine.open_segment(
            _segment(row, sealer),
            conv=conv,
            period_id=period.id,
            period_key=period_key,
            device=_device(devices.get(row.device_id)),
            service_public_key=service_public_key,
            envelopes=per_segment[row.seg],
        )
        for row in segment_rows
    ]
    keys = {o.report.seg: o.key for o in opened if o.key is not None}
    if not keys:
        raise ExportRefused(
            f"no segment of conversation {conversation_id} is readable with period {period.id}"
        )
    unverified = [o.report for o in opened if o.report.status == "unverified"]
    if unverified and not allow_unverified:
        first = unverified[0]
        raise engine.NotTrusted(f"segment {first.seg} is not trusted: {first.reason}")

    readable = [e for e in envelopes if e.envelope.seg in keys]
    checks = await _signature_checks(session, conv, conversation_id, opened, devices, readable)
    youth_key = await repo.youth_key_of(session, conversation)
    messages = tuple(
        dataclasses.replace(
            engine.decrypt(keys[e.envelope.seg], conv, e),
            signed=checks[e.envelope.seg].covers(e),
            sender=senders.check(conv, youth_key, e),
        )
        for e in engine.in_order(readable)
    )
    reports = [_with_signature(o.report, checks.get(o.report.seg)) for o in opened]
    reports += engine.unknown_segments(envelopes, (row.seg for row in segment_rows))
    transcript = engine.Transcript(
        conversation_id=conversation.id,
        opened_at=conversation.opened_at,
        closed_at=conversation.closed_at,
        period_id=period.id,
        period_fingerprint=keys_engine.fingerprint(b64.decode(period.public_key)),
        exported_at=now,
        segments=tuple(sorted(reports, key=lambda r: r.seg)),
        messages=messages,
        gaps=tuple(engine.find_gaps(readable)),
    )
    await audit_log.audit(
        session, staff_id=None, action=AUDIT_ACTION, detail=_audit_detail(transcript), now=now
    )
    return transcript


async def _signature_checks(
    session: AsyncSession,
    conv: bytes,
    conversation_id: str,
    opened: list[engine.OpenedSegment],
    devices: dict[str, Device],
    readable: list[engine.StoredEnvelope],
) -> dict[int, signatures.SignatureReport]:
    """Each readable segment's transcript signature by its own device, checked (issue 13 (5))."""
    stored = {
        (row.seg, row.device_id): signatures.StoredSignature(
            row.seg, row.device_id, row.n, row.digest, row.sig, row.covers, row.signed_at
        )
        for row in await repo.transcript_sigs_of(session, conversation_id)
    }
    checks = {}
    for o in opened:
        report = o.report
        if o.key is None or report.device_id is None:
            continue
        device = devices.get(report.device_id)
        trusted = report.status == "verified" and device is not None
        checks[report.seg] = signatures.check(
            conv,
            report.seg,
            stored.get((report.seg, report.device_id)),
            device.sig_public_key if trusted and device is not None else None,
            [e for e in readable if e.envelope.seg == report.seg],
        )
    return checks


def _with_signature(
    report: engine.SegmentReport, check: signatures.SignatureReport | None
) -> engine.SegmentReport:
    if check is None:
        return report
    return dataclasses.replace(report, signature=check.status, signature_reason=check.reason)


async def _usable_period(
    session: AsyncSession, period_key: ec.EllipticCurvePrivateKey, service_public_key: bytes
) -> PeriodKey:
    public_key = hpke.public_key_bytes(period_key)
    period = await repo.period_by_public_key(session, b64.encode(public_key))
    if period is None:
        raise ExportRefused("this period key is not registered in this database")
    try:
        message = certs.period_cert_message(
            b64.decode(period.id), public_key, period.not_before, period.not_after
        )
        certified = sign.verify(service_public_key, message, b64.decode(period.certificate))
    except ValueError:
        certified = False
    if not certified:
        raise ExportRefused(f"period {period.id} is not certified by this service key")
    if period.destroyed_at is not None:
        raise ExportRefused(f"period {period.id} was destroyed; its transcripts have expired")
    return period


def _conversation_bytes(conversation_id: str) -> bytes | None:
    try:
        conv = b64.decode(conversation_id)
    except ValueError:
        return None
    return conv if len(conv) == certs.ID_BYTES else None


def _audit_detail(transcript: engine.Transcript) -> str:
    """Ids and counts only: never a message, never a key."""
    return json.dumps(
        {
            "conversation_id": transcript.conversation_id,
            "period_id": transcript.period_id,
            "count": transcript.decrypted,
            "undecryptable": transcript.undecryptable,
            "segments": [s.seg for s in transcript.segments if s.readable],
            "unverified_segments": transcript.unverified_segments,
            "unsigned": transcript.unsigned,
            "not_from_youth_page": transcript.not_from_youth_page,
        }
    )


def _stored(row: Envelope) -> engine.StoredEnvelope:
    envelope = ChatEnvelope(row.conv_id, row.seg, row.role, row.inst, row.seq, row.ct, row.sig)
    return engine.StoredEnvelope(row.id, envelope)


def _segment(row: Segment, sealer: Sealer) -> engine.SegmentInfo:
    """A segment with its period wrap opened from its bucket (None once the key is gone)."""
    wrap_o = sealer.open(row.wrap_o, period_place(row.conv_id, row.seg))
    return engine.SegmentInfo(
        row.seg, row.device_id, row.period_id, wrap_o, row.accept_sig, row.created_at, row.accept_at
    )


def _device(row: Device | None) -> certs.DeviceCert | None:
    return None if row is None else keys_devices.to_cert(row)
