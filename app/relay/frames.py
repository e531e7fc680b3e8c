"""Every frame the server sends, pure: the twin of ``protocol`` (which parses what clients send).

Each function returns the frame's text: one JSON object, keys in the documented order, compact
separators, non-ASCII as is. docs/PROTOCOL.md is the prose form of these; keep them in step.

The envelope path is not here: ``ack`` and ``envelope`` frames are pre-encoded by
``Envelope.ack_frame`` and ``Envelope.delivery_frame`` (``app.chat.envelope``), because they are
sent once per message and per receiver and must cost no JSON encoding.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from app.events import messages
from app.triage import hours, waits
from app.triage.engine import Place

#: Close code after a refusal: "try again later" (RFC 6455 §7.4.1).
REFUSAL_CLOSE: Final = 1013


def dumps(obj: Mapping[str, Any]) -> str:
    """A frame's text: compact JSON, non-ASCII kept (the byte form every client parses)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- what frames read


class _Device(Protocol):
    """A counsellor device certificate (``app.keys.devices.DeviceCert``)."""

    @property
    def device_id(self) -> str: ...
    def as_dict(self) -> dict[str, object]: ...


class _Period(Protocol):
    """A period key (``app.keys.service.Period``)."""

    @property
    def period_id(self) -> str: ...
    @property
    def public_key(self) -> str: ...
    @property
    def not_before(self) -> int: ...
    @property
    def not_after(self) -> int: ...
    @property
    def certificate(self) -> str: ...
    def as_dict(self) -> dict[str, object]: ...


class Segment(Protocol):
    """A conversation's current key segment (``app.chat.segments.SegmentState``)."""

    @property
    def conv_id(self) -> str: ...
    @property
    def seg(self) -> int: ...
    @property
    def device(self) -> _Device: ...
    @property
    def period(self) -> _Period | None: ...
    @property
    def wrap_c(self) -> str | None: ...
    @property
    def accept_sig(self) -> str | None: ...
    @property
    def youth_key(self) -> str | None: ...
    @property
    def accept_at(self) -> int | None: ...


# --------------------------------------------------------------------------- errors (§5)


def error(code: str, message: str, ref: Mapping[str, Any] | None = None, **more: Any) -> str:
    """``{"type":"error","code","message"[,"ref":{"seg","inst","seq"}][,more…]}``: a refused
    frame. ``ref`` names the envelope the error is about; ``more`` are the code's own fields.
    The socket stays open unless the caller closes it."""
    body: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref:
        body["ref"] = ref
    return dumps({**body, **more})


#: How the text of every ``error`` frame begins (keys in order, compact separators).
ERROR_PREFIX: Final = '{"type":"error","code":"'


def error_code(text: str) -> str:
    """The code of an error frame's text (one that starts with ``ERROR_PREFIX``): codes are
    the fixed names of docs/PROTOCOL.md §5, with no quote or escape in them."""
    return text[len(ERROR_PREFIX) : text.index('"', len(ERROR_PREFIX))]


def not_stored(ref: Mapping[str, Any]) -> str:
    """``unavailable`` for an envelope the store did not take: the client sends it again."""
    return error("unavailable", "not stored; send it again", ref)


def rate_limited() -> str:
    """``rate_limited``; the caller then closes with 1008."""
    return error("rate_limited", "too many frames; slow down")


def not_text() -> str:
    """``bad_frame`` for a binary frame (frames are JSON text)."""
    return error("bad_frame", "frames are JSON text, not binary")


#: Seconds a young person turned away while open (nobody on duty, a full queue) is told to
#: wait before trying again: a counsellor may come on duty, a place may free up.
REFUSAL_RETRY: Final = 60


def _help(emergency: str, lines: Sequence[hours.Helpline]) -> dict[str, Any]:
    """What every refusal and ``unserved`` carry: the emergency number and other helplines."""
    found = [{"name": h.name, "phone": h.phone, "hours": h.hours, "url": h.url} for h in lines]
    return {"emergency": emergency, "helplines": found}


def _unix(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp())


def _with_112(message: str, emergency: str, *, first: bool) -> str:
    if first:
        return f"if you are in danger now, call {emergency}; {message}"
    return f"{message}; if you are in danger, call {emergency}"


def too_many_joins(retry_after: int, policy: hours.EntryPolicy) -> str:
    """``too_many_joins`` with ``retry_after`` (seconds), the emergency number and the other
    helplines, as every refusal; then close with ``REFUSAL_CLOSE``."""
    sos = policy.emergency_number
    text = _with_112("too many attempts from here; try again later", sos, first=False)
    return error("too_many_joins", text, retry_after=retry_after, **_help(sos, policy.helplines))


def refusal(decision: hours.EntryDecision, message: str, now: float) -> str:
    """The error frame for a join the entry decision turned away: its code (``closed``,
    ``no_one_on_duty``, ``queue_full``), the emergency number, the other helplines, the next
    opening (unix seconds) when closed, and ``retry_after`` (seconds: until that opening, or
    ``REFUSAL_RETRY``; null when closed with no opening known). The caller then closes the
    socket with ``REFUSAL_CLOSE``.
    """
    sos, opening = decision.emergency_number, _unix(decision.next_opening)
    retry: int | None = REFUSAL_RETRY
    if decision.status is hours.Entry.CLOSED:
        retry = None if opening is None else max(1, opening - int(now))
    text = _with_112(message, sos, first=decision.emergency_first)
    more = _help(sos, decision.alternatives)
    return error(decision.status.value, text, **more, next_opening=opening, retry_after=retry)


def unserved(policy: hours.EntryPolicy, next_opening: datetime | None, *, urgent: bool) -> str:
    """``{"type":"unserved","message","emergency","helplines","next_opening"}``: nobody on duty
    can serve this waiting ticket (``engine.can_be_served``). The ticket keeps its place and the
    socket stays open: the young person may keep waiting or leave. ``served`` follows once
    someone who can is on duty again."""
    sos = policy.emergency_number
    text = _with_112(
        "no counsellor who can answer this chat is on duty right now", sos, first=urgent
    )
    more = _help(sos, policy.helplines)
    return dumps({"type": "unserved", "message": text, **more, "next_opening": _unix(next_opening)})


@functools.cache
def served() -> str:
    """``{"type":"served"}``: after ``unserved``, someone on duty can serve the ticket again."""
    return dumps({"type": "served"})


def replaced() -> str:
    """``replaced``: the ticket was resumed on another connection; the caller closes with 4001."""
    return error("replaced", "this chat was opened on another connection")


def logged_out() -> str:
    """``logged_out``: the staff session ended; the caller closes with 1008."""
    return error("logged_out", "your session has ended")


def session_expiring(expires_at: float) -> str:
    """``{"type":"session_expiring","expires_at"}``: the staff session reaches its absolute limit
    then (unix seconds); the console offers re-authentication (``POST /staff/api/reauth``)."""
    return dumps({"type": "session_expiring", "expires_at": int(expires_at)})


def ticket(token: str, queue: str) -> str:
    """``{"type":"ticket","ticket","queue"}``: the ticket token (kept in the client's memory
    only) and the queue (``youth``, or ``youth/police`` for a skill queue)."""
    return dumps({"type": "ticket", "ticket": token, "queue": queue})


def position(place: Place, estimate: waits.Estimate | None) -> str:
    """``{"type":"position","position","waiting","estimate":{"min_seconds","max_seconds"}|null}``;
    ``null`` when no estimate can be honest (no recent chats, or nobody on duty who can serve)."""
    if isinstance(estimate, waits.WaitRange):
        return _position(place.position, place.waiting, int(estimate.low), int(estimate.high))
    return _position(place.position, place.waiting, None, None)


@functools.lru_cache(maxsize=8192)
def _position(position: int, waiting: int, low: int | None, high: int | None) -> str:
    """A position frame, encoded once: a fan-out tells many sockets the same place and range
    (one per queue and language), and a refresh tells each socket what it was told before."""
    wait = None if low is None else {"min_seconds": low, "max_seconds": high}
    return dumps({"type": "position", "position": position, "waiting": waiting, "estimate": wait})


def resumed(queue: str, conv: str | None = None, *, requeued: bool = False) -> str:
    """``{"type":"resumed","queue"[,"conv"][,"requeued":true]}``: a resume was accepted; ``conv``
    when the ticket has a conversation, ``requeued`` when that conversation waits again."""
    body: dict[str, Any] = {"type": "resumed", "queue": queue}
    if conv is not None:
        body["conv"] = conv
    if requeued:
        body["requeued"] = True
    return dumps(body)


def ended() -> str:
    """``{"type":"ended"}``: the resumed ticket is no longer live; the caller closes with 1000."""
    return dumps({"type": "ended"})


def left() -> str:
    """``{"type":"left"}``: the ticket left the queue; the caller closes with 1000."""
    return dumps({"type": "left"})


def requeued(conv: str, reason: str | None = None) -> str:
    """``{"type":"requeued","conv","reason"}``: the chat went back to the queue (§7.3);
    ``reason`` says why (``transfer``, ``unanswered``, ``shift_ended``, ``unaccepted``) for the
    page to tell."""
    return dumps({"type": "requeued", "conv": conv, "reason": reason})


# ---------------------------------------------------------------------- pairing and keys (§6)


def _period_json(period: _Period | None) -> dict[str, object] | None:
    return None if period is None else period.as_dict()


def paired(conv: str, alias: str, segment: Segment) -> str:
    """``{"type":"paired","conv","counsellor":{"alias"},"seg","device":{…},"period":{…}|null,
    "keys_stored","accepted","accepted_at"}``: what the young person's client needs to seal the
    segment key and check the acceptance (§6.3, ``accepted_at`` the time signed into it, or
    null); again with the next ``seg`` after a handover."""
    return dumps(
        {
            "type": "paired",
            "conv": conv,
            "counsellor": {"alias": alias},
            "seg": segment.seg,
            "device": segment.device.as_dict(),
            "period": _period_json(segment.period),
            "keys_stored": segment.wrap_c is not None,
            "accepted": segment.accept_sig,
            "accepted_at": segment.accept_at,
        }
    )


def keys_stored(conv: str, seg: int) -> str:
    """``{"type":"keys_stored","conv","seg"}``: the answer to ``keys``."""
    return dumps({"type": "keys_stored", "conv": conv, "seg": seg})


def keys(segment: Segment) -> str:
    """``{"type":"keys","conv","seg","device","wrap"}``: the segment key sealed to the console's
    device (``wrap`` is ``wrap_c``), for the counsellor."""
    s = segment
    return dumps(
        {
            "type": "keys",
            "conv": s.conv_id,
            "seg": s.seg,
            "device": s.device.device_id,
            "wrap": s.wrap_c,
        }
    )


def accept_stored(conv: str, seg: int) -> str:
    """``{"type":"accept_stored","conv","seg"}``: the answer to ``accept``."""
    return dumps({"type": "accept_stored", "conv": conv, "seg": seg})


def accepted(conv: str, seg: int, sig: str, signed_at: int | None = None) -> str:
    """``{"type":"accepted","conv","seg","sig"[,"signed_at"]}``: the device's acceptance (timed
    with ``signed_at``), for the young person's client to verify before it sends."""
    timed = {} if signed_at is None else {"signed_at": signed_at}
    return dumps({"type": "accepted", "conv": conv, "seg": seg, "sig": sig, **timed})


def transcript_sig(conv: str, seg: int, n: int, digest: str, sig: str, covers: str) -> str:
    """``{"type":"transcript_sig","conv","seg","n","digest","sig","covers"}``: a counsellor
    device's signature over the segment's envelopes, relayed to the young person as stored
    (``covers`` is validated compact JSON)."""
    head = dumps({"type": "transcript_sig", "conv": conv, "seg": seg, "n": n})
    return f'{head[:-1]},"digest":"{digest}","sig":"{sig}","covers":{covers}}}'


def transcript_sig_stored(conv: str, seg: int) -> str:
    """``{"type":"transcript_sig_stored","conv","seg"}``: the answer to ``transcript_sig``."""
    return dumps({"type": "transcript_sig_stored", "conv": conv, "seg": seg})


def return_code_stored(conv: str, seg: int) -> str:
    """``{"type":"return_code_stored","conv","seg"}``: the answer to ``return_code``."""
    return dumps({"type": "return_code_stored", "conv": conv, "seg": seg})


def history_shared(conv: str) -> str:
    """``{"type":"history_shared","conv"}``: the answer to ``share_history``."""
    return dumps({"type": "history_shared", "conv": conv})


def history(conv: str, shared: Mapping[str, Any]) -> str:
    """``{"type":"history","conv","from","device","segments":[{"seg","wrap"}],"envelopes":[…]}``:
    one earlier conversation shared with the console's device (§6.5); ``shared`` is an item of
    ``app.chat.segments.shared_history``."""
    return dumps({"type": "history", "conv": conv, **shared})


# ------------------------------------------------------------------- chat signals (§2, §6.4)


def synced(conv: str) -> str:
    """``{"type":"synced","conv"}``: the replay of a ``sync`` is complete."""
    return dumps({"type": "synced", "conv": conv})


def typing(conv: str, typing: bool) -> str:
    """``{"type":"typing","conv","typing"}``: the other side is (not) typing; never stored."""
    return dumps({"type": "typing", "conv": conv, "typing": typing})


def presence(conv: str, present: bool) -> str:
    """``{"type":"presence","conv","present"}``: the young person's connection went or came
    back; for the counsellor, never stored."""
    return dumps({"type": "presence", "conv": conv, "present": present})


def undecryptable(conv: str, seg: int, role: str, inst: str, seq: int) -> str:
    """``{"type":"undecryptable","conv","seg","role","inst","seq"}``: the other side could not
    open that envelope; relayed, never stored."""
    return dumps(
        {"type": "undecryptable", "conv": conv, "seg": seg, "role": role, "inst": inst, "seq": seq}
    )


def board(board: Mapping[str, Any]) -> str:
    """``{"type":"board",…}``: the live board (``app.supervision.board``), pushed to a
    supervisor's console about once a second while it watches."""
    return dumps({"type": "board", **board})


def queue(glance: Mapping[str, Any]) -> str:
    """``{"type":"queue",…}``: the queue at a glance (``app.supervision.glance``), pushed to a
    console about once a second while it watches."""
    return dumps({"type": "queue", **glance})


def deleted(conv: str) -> str:
    """``{"type":"deleted","conv"}``: the young person's deletion is done (S-18)."""
    return dumps({"type": "deleted", "conv": conv})


def closed(message: messages.Closed) -> str:
    """``{"type":"closed","conv","by":"youth"|"counsellor","reason"}``: the conversation ended.
    The young person's socket then closes (1000)."""
    who = "youth" if message.by == "Y" else "counsellor"
    return dumps({"type": "closed", "conv": message.conv, "by": who, "reason": message.reason})
