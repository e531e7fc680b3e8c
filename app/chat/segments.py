"""Key segments of conversations: who a segment key is sealed to, the sealed keys, the acceptance,
and return-code wraps (CRYPTO.md §3, §5; PROTOCOL.md §6).

The server stores and forwards these opaque values and checks only who may set them and that
each is set once; the clients verify the cryptography. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as repo
from app.chat.envelope import Envelope as WireEnvelope
from app.chat.retention import DAY
from app.chat.sealing import Sealer, device_place, grant_place, period_place, return_place
from app.chat.wraps import Keys, ReturnCode, ShareHistory
from app.keys import devices
from app.keys.devices import DeviceCert
from app.keys.service import Period, current_period, period_by_id
from app.kit.errors import ProtocolError
from app.models import Envelope, Segment


@dataclass(frozen=True, slots=True)
class SegmentState:
    """A conversation's current key segment; ``app.relay.frames`` renders it for clients."""

    conv_id: str
    seg: int
    device: DeviceCert
    period: Period | None
    wrap_c: str | None
    wrap_o: str | None
    accept_sig: str | None
    #: The young person's page key (PROTOCOL.md §6.7), for the console to check signatures.
    youth_key: str | None = None
    #: The time signed into a timed acceptance (PROTOCOL.md §6.3); ``None`` for the untimed form.
    accept_at: int | None = None


async def open_segment(
    session: AsyncSession, *, conv_id: str, seg: int, device_id: str, now: float
) -> None:
    """Start segment ``seg`` of a conversation, sealed to ``device_id`` and the current period."""
    period = await current_period(session, now)
    await repo.add_segment(
        session,
        conv_id=conv_id,
        seg=seg,
        device_id=device_id,
        period_id=None if period is None else period.period_id,
        now=now,
    )


async def _state(session: AsyncSession, sealer: Sealer, row: Segment) -> SegmentState:
    device = await devices.by_id(session, row.device_id)
    assert device is not None  # noqa: S101 - a foreign key
    period = None if row.period_id is None else await period_by_id(session, row.period_id)
    return SegmentState(
        conv_id=row.conv_id,
        seg=row.seg,
        device=device,
        period=period,
        wrap_c=sealer.open(row.wrap_c, device_place(row.conv_id, row.seg)),
        wrap_o=sealer.open(row.wrap_o, period_place(row.conv_id, row.seg)),
        accept_sig=row.accept_sig,
        youth_key=await repo.youth_key_of(session, row.conv_id),
        accept_at=row.accept_at,
    )


async def current_segment(
    session: AsyncSession, sealer: Sealer, conv_id: str
) -> SegmentState | None:
    """The conversation's latest segment (the one messages are sent in now)."""
    row = await repo.latest_segment(session, conv_id)
    return None if row is None else await _state(session, sealer, row)


async def _segment(session: AsyncSession, conv_id: str, seg: int) -> Segment:
    row = await repo.segment(session, conv_id, seg)
    if row is None:
        raise ProtocolError("bad_keys", "this conversation has no such segment")
    return row


async def store_keys(
    session: AsyncSession, sealer: Sealer, frame: Keys, now: float
) -> SegmentState:
    """Store the sealed keys of a segment, once, bucket-sealed; raises ``ProtocolError``
    otherwise."""
    week = await sealer.bucket_of(session, frame.conv, now)
    row = await _segment(session, frame.conv, frame.seg)
    if row.wrap_c is not None:
        raise ProtocolError("keys_exist", "the keys of this segment are already stored")
    if (frame.wrap_o is None) != (row.period_id is None):
        raise ProtocolError(
            "bad_keys", "wrap_o must be sealed to the period key given in 'paired' (null if none)"
        )
    wrap_o = None
    if frame.wrap_o is not None:
        wrap_o = sealer.seal_in(week, period_place(frame.conv, frame.seg), frame.wrap_o)
    await repo.set_keys(
        session,
        row,
        wrap_c=sealer.seal_in(week, device_place(frame.conv, frame.seg), frame.wrap_c),
        wrap_o=wrap_o,
    )
    return await _state(session, sealer, row)


async def store_accept(
    session: AsyncSession,
    *,
    conv_id: str,
    seg: int,
    device_id: str | None,
    sig: str,
    signed_at: int | None = None,
) -> bool:
    """Store a segment's acceptance once; False when it was stored before (a repeat).

    Only the device the segment is sealed to can have unsealed ``K``; an accept from another
    console of the same counsellor is refused rather than stored.
    """
    row = await _segment(session, conv_id, seg)
    if row.device_id != device_id:
        raise ProtocolError("wrong_device", "this segment is sealed to another device")
    if row.wrap_c is None:
        raise ProtocolError("wrong_state", "the young person has not sent the keys yet")
    if row.accept_sig is not None:
        return False
    await repo.set_accept(session, row, sig, signed_at)
    return True


async def store_transcript_sig(
    session: AsyncSession,
    *,
    conv_id: str,
    seg: int,
    device_id: str | None,
    n: int,
    digest: str,
    sig: str,
    covers: str,
    now: float,
) -> None:
    """Keep a device's latest transcript signature of a segment (issue 13 (5)).

    Only the device the segment is sealed to held its ``K``; its console may sign also after
    the chat has left it (closed, handed over), so no link to the conversation is needed.
    """
    row = await repo.segment(session, conv_id, seg)
    if row is None:
        raise ProtocolError("unknown_segment", "this conversation has no such segment")
    if device_id is None or row.device_id != device_id:
        raise ProtocolError("wrong_device", "this segment is sealed to another device")
    await repo.put_transcript_sig(
        session,
        conv_id=conv_id,
        seg=seg,
        device_id=device_id,
        n=n,
        digest=digest,
        sig=sig,
        covers=covers,
        now=now,
    )


async def store_return_wrap(
    session: AsyncSession, sealer: Sealer, frame: ReturnCode, now: float
) -> None:
    """File a segment key's return-code wrap under its locator (one locator per conversation)."""
    await _segment(session, frame.conv, frame.seg)
    rows = await repo.return_wraps_of(session, frame.conv)
    if any(r.locator != frame.locator for r in rows):
        raise ProtocolError("bad_keys", "a conversation has one return code")
    if any(r.seg == frame.seg for r in rows):
        raise ProtocolError("keys_exist", "this segment already has a return-code wrap")
    await repo.add_return_wrap(
        session,
        locator=frame.locator,
        conv_id=frame.conv,
        seg=frame.seg,
        salt=frame.salt,
        nonce=frame.nonce,
        wrap=await sealer.seal(session, return_place(frame.conv, frame.seg), frame.wrap, now),
        now=now,
    )


async def history(session: AsyncSession, sealer: Sealer, locator: str) -> list[dict[str, Any]]:
    """Everything a returning young person's client needs to decrypt their conversations.

    Only ciphertext, wraps and public values: without the code itself nothing here is readable.
    """
    wraps = await repo.return_wraps_by_locator(session, locator)
    out: list[dict[str, Any]] = []
    for conv_id in dict.fromkeys(w.conv_id for w in wraps):
        conv = await repo.conversation_row(session, conv_id)
        if conv is None:
            continue
        segments = []
        for wrap in (w for w in wraps if w.conv_id == conv_id):
            opened = sealer.open(wrap.wrap, return_place(conv_id, wrap.seg))
            if opened is None:
                continue  # its bucket key is gone: expired, or the key directory was lost
            seg_row = await repo.segment(session, conv_id, wrap.seg)
            device = None if seg_row is None else await devices.by_id(session, seg_row.device_id)
            segments.append(
                {
                    "seg": wrap.seg,
                    "salt": wrap.salt,
                    "nonce": wrap.nonce,
                    "wrap": opened,
                    "sig_public_key": None if device is None else device.sig_public_key,
                    "accept_sig": None if seg_row is None else seg_row.accept_sig,
                    # The time the device signed into its acceptance: the certificate is
                    # checked at it (null for an untimed acceptance: the time is unverified).
                    "accept_at": None if seg_row is None else seg_row.accept_at,
                    # The certificate of the device that accepted, and when the segment was
                    # sealed (certificates expire; a transcript is read later).
                    "device": None if device is None else device.as_dict(),
                    "sealed_at": None if seg_row is None else int(seg_row.created_at),
                }
            )
        if not segments:
            continue
        envelopes = await repo.envelopes_of(session, conv_id)
        out.append(
            {
                "conv": conv_id,
                "opened_at": conv.opened_at,
                "closed_at": conv.closed_at,
                "segments": segments,
                "envelopes": [_envelope_dict(e) for e in envelopes],
            }
        )
    return out


async def holder_since(session: AsyncSession, conv_id: str, staff_id: str) -> int:
    """The first segment of ``staff_id``'s current run of segments in a conversation.

    A counsellor who took a chat over reads from there on; earlier segments were sealed to
    someone else (CRYPTO.md §5).
    """
    first = 0
    for seg, holder in await repo.segment_holders(session, conv_id):
        if holder != staff_id:
            break
        first = seg
    return first


async def next_segment(session: AsyncSession, conv_id: str) -> int:
    row = await repo.latest_segment(session, conv_id)
    return 0 if row is None else row.seg + 1


def _envelope_dict(e: Envelope) -> dict[str, object]:
    """A stored envelope as the client receives it (``app.chat.envelope.Envelope.as_dict``)."""
    return WireEnvelope(e.conv_id, e.seg, e.role, e.inst, e.seq, e.ct).as_dict()


async def share_history(
    session: AsyncSession, sealer: Sealer, frame: ShareHistory, now: float
) -> str:
    """Store a young person's consent: earlier segments' keys sealed to the device of the
    conversation's current segment (CRYPTO.md §5). Segments of other conversations must be
    filed under the return code named by the locator; earlier segments of this conversation
    (before a transfer) need none. Returns that device's id."""
    week = await sealer.bucket_of(session, frame.conv, now)
    current = await current_segment(session, sealer, frame.conv)
    if current is None or current.wrap_c is None:
        raise ProtocolError("wrong_state", "send the keys of this conversation first")
    if current.seg != frame.seg:
        raise ProtocolError(
            "wrong_state", "the chat has moved to another counsellor: ask the young person again"
        )
    granted = await repo.granted_segments(session, frame.conv, current.device.device_id)
    for item in frame.segments:
        if item.conv == frame.conv:
            if item.seg >= current.seg:
                raise ProtocolError("bad_keys", "only earlier segments of this chat can be shared")
        elif not await repo.is_filed(
            session, locator=frame.locator, conv_id=item.conv, seg=item.seg
        ):
            raise ProtocolError("bad_keys", "no earlier segment is filed under this return code")
        if (item.conv, item.seg) in granted:
            continue  # a resend after a dropped connection
        granted.add((item.conv, item.seg))
        repo.add_history_grant(
            session,
            conv_id=frame.conv,
            from_conv_id=item.conv,
            seg=item.seg,
            device_id=current.device.device_id,
            wrap=sealer.seal_in(
                week,
                grant_place(frame.conv, item.conv, item.seg, current.device.device_id),
                item.wrap,
            ),
            now=now,
        )
    await session.flush()
    return current.device.device_id


async def shared_history(
    session: AsyncSession, sealer: Sealer, conv_id: str, device_id: str
) -> list[dict[str, Any]]:
    """For the counsellor device of ``conv_id``: each earlier conversation the young person
    shared, with the sealed keys of its shared segments and those segments' envelopes."""
    grants = await repo.history_grants(session, conv_id, device_id)
    out = []
    for earlier in dict.fromkeys(g.from_conv_id for g in grants):
        segs: dict[int, str] = {}
        for g in grants:
            if g.from_conv_id != earlier:
                continue
            opened = sealer.open(g.wrap, grant_place(conv_id, earlier, g.seg, device_id))
            if opened is not None:
                segs[g.seg] = opened
        if not segs:
            continue
        envelopes = await repo.envelopes_of(session, earlier, list(segs))
        out.append(
            {
                "from": earlier,
                "device": device_id,
                "segments": [{"seg": seg, "wrap": wrap} for seg, wrap in sorted(segs.items())],
                "envelopes": [_envelope_dict(e) for e in envelopes],
            }
        )
    return out


async def keep_for_visit(
    session: AsyncSession, sealer: Sealer, conv_ids: list[str], now: float
) -> None:
    """A return visit: each conversation is kept at least its queue's retention from now."""
    for conv_id, kind, skill in await repo.queues_of(session, conv_ids):
        until = now + sealer.policy.days_for(kind, skill) * DAY
        await repo.keep_until(session, [conv_id], until)
