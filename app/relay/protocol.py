"""The WebSocket frames clients send, pure: text in, typed frames or a ``ProtocolError`` out.

The frames the server sends are built in ``frames``, this module's twin.

Every frame is a JSON object with a ``type``. Envelopes are checked for shape and size only
(CRYPTO.md §4): ``ct`` is base64url text of bounded length and is never decoded or parsed.
docs/PROTOCOL.md is the prose form of this module; keep them in step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

# Payloads that their own domain defines, re-exported so that ``Frame`` names every frame.
from app.chat.envelope import U32_MAX, U63_MAX, Envelope, StreamCursor, is_int, parse_envelope
from app.chat.wraps import Keys as Keys
from app.chat.wraps import ReturnCode as ReturnCode
from app.chat.wraps import ShareHistory as ShareHistory
from app.kit import jsontext
from app.kit.b64 import is_b64url
from app.kit.errors import ProtocolError
from app.relay import keyframes
from app.relay.fields import bytes_field, conv_field, seg_field
from app.relay.joinframe import Join as Join
from app.relay.joinframe import parse_join
from app.relay.keyframes import HISTORY_SEGMENTS_MAX as HISTORY_SEGMENTS_MAX
from app.relay.keyframes import SEALED_KEY_BYTES as SEALED_KEY_BYTES
from app.relay.keyframes import SIGNATURE_BYTES as SIGNATURE_BYTES
from app.relay.keyframes import Accept as Accept
from app.relay.keyframes import TranscriptSig as TranscriptSig
from app.supervision.closetags import REFERRALS, CloseTags

_TAG_ID: Final = re.compile(r"^[a-z0-9_]{1,32}$")


# --------------------------------------------------------------------------- client frames


@dataclass(frozen=True, slots=True)
class Resume:
    ticket: str


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class SendEnvelope:
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Sync:
    conv: str | None
    have: tuple[StreamCursor, ...]


@dataclass(frozen=True, slots=True)
class Close:
    conv: str | None
    #: A counsellor's close categories (issue 11): counted anonymously, never stored with it.
    tags: CloseTags | None = None


@dataclass(frozen=True, slots=True)
class WatchBoard:
    """A supervisor's console asks for the live board, pushed from now on (issue 11)."""


@dataclass(frozen=True, slots=True)
class WatchQueue:
    """A console asks for the queue at a glance, pushed from now on (issue 11)."""


@dataclass(frozen=True, slots=True)
class Delete:
    """The young person deletes the conversation now (S-18): it ends and nothing is kept."""

    conv: str | None


@dataclass(frozen=True, slots=True)
class Duty:
    on: bool


@dataclass(frozen=True, slots=True)
class Signal:
    """Typing indicator: relayed, never stored (DESIGN.md §3.5)."""

    conv: str | None
    typing: bool


@dataclass(frozen=True, slots=True)
class Undecryptable:
    """A receiver could not open this envelope: told to the sender, never stored."""

    conv: str
    seg: int
    role: str
    inst: str
    seq: int


#: A warm transfer's handoff note, sealed by the sender's console to the colleague's device.
NOTE_MAX_CHARS: Final = 8 * 1024
SKILL_MAX: Final = 32


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand a conversation to a colleague (``to_staff``) or a queue (``to_kind``/``to_skill``)."""

    conv: str
    mode: str  # warm | cold
    to_staff: str | None
    to_kind: str | None
    to_skill: str | None
    note: str | None
    confirm: bool = False  # cold to a queue nobody on duty can serve: the counsellor confirmed


@dataclass(frozen=True, slots=True)
class OfferAnswer:
    conv: str
    accept: bool


Frame = (
    Join
    | Resume
    | Leave
    | SendEnvelope
    | Sync
    | Close
    | Delete
    | WatchBoard
    | WatchQueue
    | Duty
    | Signal
    | Keys
    | Accept
    | TranscriptSig
    | ReturnCode
    | Undecryptable
    | Transfer
    | OfferAnswer
    | ShareHistory
)

YOUTH_TYPES: Final = frozenset(
    {
        "join",
        "resume",
        "leave",
        "envelope",
        "sync",
        "close",
        "delete",
        "typing",
        "keys",
        "return_code",
        "undecryptable",
        "share_history",
    }
)
STAFF_TYPES: Final = frozenset(
    {
        "duty",
        "envelope",
        "sync",
        "close",
        "typing",
        "accept",
        "transcript_sig",
        "undecryptable",
        "transfer",
        "offer_answer",
        "watch_board",
        "watch_queue",
    }
)


#: A JSON escape of a UTF-16 surrogate: a pair spells one character, a lone one no text at all.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _is_text(obj: object) -> bool:
    """Whether every string in ``obj`` can be encoded as UTF-8 again (no lone surrogate): one
    echoed in an error frame would otherwise fail when sent and take the socket's writer down.
    Only frames with a surrogate escape are walked, so ordinary frames cost one regex scan."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_frame(text: str, allowed: frozenset[str]) -> Frame:
    """Parse one client frame of a type in ``allowed``; raise ``ProtocolError`` otherwise."""
    try:
        obj = jsontext.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", "the frame is not valid JSON") from exc
    if _SURROGATE_ESCAPE.search(text) and not _is_text(obj):
        raise ProtocolError("bad_json", "the frame holds a lone surrogate: it is not text")
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ProtocolError("bad_frame", "a frame is a JSON object with a string 'type'")
    kind = obj["type"]
    if kind not in allowed:
        raise ProtocolError("unknown_type", "this socket does not accept that frame type")
    frame: Frame = _FRAMES[kind][1](obj)
    return frame


def _parse_resume(obj: dict[str, Any]) -> Resume:
    ticket = obj.get("ticket")
    if not isinstance(ticket, str) or not is_b64url(ticket, nbytes=16):
        raise ProtocolError("bad_frame", "ticket must be the token received in the ticket frame")
    return Resume(ticket)


def _parse_leave(_obj: dict[str, Any]) -> Leave:
    return Leave()


def _parse_envelope_frame(obj: dict[str, Any]) -> SendEnvelope:
    return SendEnvelope(parse_envelope(obj.get("envelope")))


def _parse_sync(obj: dict[str, Any]) -> Sync:
    have = obj.get("have", [])
    if not isinstance(have, list) or len(have) > 1024:
        raise ProtocolError("bad_frame", "have must be a list of at most 1024 stream cursors")
    cursors = []
    for item in have:
        if not isinstance(item, dict):
            raise ProtocolError("bad_frame", "a stream cursor is an object")
        seg, role, inst, seq = (item.get(k) for k in ("seg", "role", "inst", "seq"))
        if not (isinstance(seg, int) and isinstance(seq, int) and is_int(seg) and is_int(seq)):
            raise ProtocolError("bad_frame", "a stream cursor has integer seg and seq")
        if not (0 <= seg <= U32_MAX and 0 <= seq <= U63_MAX):
            raise ProtocolError("bad_frame", "a stream cursor has integer seg and seq")
        if role not in ("Y", "C") or not isinstance(inst, str) or not is_b64url(inst, nbytes=16):
            raise ProtocolError("bad_frame", "a stream cursor has role Y or C and a 16-byte inst")
        cursors.append(StreamCursor(seg=seg, role=role, inst=inst, seq=seq))
    return Sync(conv=conv_field(obj, required=False), have=tuple(cursors))


def _parse_close(obj: dict[str, Any]) -> Close:
    raw = obj.get("tags")
    return Close(
        conv=conv_field(obj, required=False), tags=None if raw is None else _close_tags(raw)
    )


def _tag_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not _TAG_ID.match(value):
        raise ProtocolError("bad_frame", f"{name} must be an id (a-z, 0-9, _; up to 32)")
    return value


def _close_tags(raw: object) -> CloseTags:
    """``{"topic"?, "outcome"?, "referrals"?: [...]}``: shapes only; the handler checks the
    values against the centre's vocabulary (``closetags.check``)."""
    if not isinstance(raw, dict) or set(raw) - {"topic", "outcome", "referrals"}:
        raise ProtocolError("bad_frame", "tags has topic, outcome and referrals only")
    topic = raw.get("topic")
    outcome = raw.get("outcome")
    referrals = raw.get("referrals", [])
    if not isinstance(referrals, list) or len(referrals) > len(REFERRALS):
        raise ProtocolError("bad_frame", "referrals is a short list of ids")
    return CloseTags(
        topic=None if topic is None else _tag_id(topic, "topic"),
        outcome=None if outcome is None else _tag_id(outcome, "outcome"),
        referrals=tuple(_tag_id(r, "referral") for r in referrals),
    )


def _parse_watch_board(_obj: dict[str, Any]) -> WatchBoard:
    return WatchBoard()


def _parse_watch_queue(_obj: dict[str, Any]) -> WatchQueue:
    return WatchQueue()


def _parse_delete(obj: dict[str, Any]) -> Delete:
    return Delete(conv=conv_field(obj, required=False))


def _parse_duty(obj: dict[str, Any]) -> Duty:
    on = obj.get("on")
    if not isinstance(on, bool):
        raise ProtocolError("bad_frame", "duty needs on: true or false")
    return Duty(on)


def _parse_typing(obj: dict[str, Any]) -> Signal:
    typing = obj.get("typing")
    if not isinstance(typing, bool):
        raise ProtocolError("bad_frame", "typing needs typing: true or false")
    return Signal(conv=conv_field(obj, required=False), typing=typing)


def _parse_undecryptable(obj: dict[str, Any]) -> Undecryptable:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    role, seq = obj.get("role"), obj.get("seq")
    if role not in ("Y", "C"):
        raise ProtocolError("bad_frame", "role must be Y or C")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= U63_MAX:
        raise ProtocolError("bad_frame", "seq must be a positive integer below 2^63")
    return Undecryptable(
        conv=conv,
        seg=seg_field(obj, "bad_frame"),
        role=str(role),
        inst=bytes_field(obj, "inst", 16, "bad_frame"),
        seq=seq,
    )


def _parse_transfer(obj: dict[str, Any]) -> Transfer:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    mode, to, note = obj.get("mode"), obj.get("to"), obj.get("note")
    if mode not in ("warm", "cold"):
        raise ProtocolError("bad_frame", "mode must be 'warm' or 'cold'")
    if not isinstance(to, dict) or ("staff" in to) == ("queue" in to):
        raise ProtocolError("bad_frame", "to is {'staff': id} or {'queue': kind, 'skill': …}")
    to_staff = to_kind = to_skill = None
    if "staff" in to:
        to_staff = bytes_field(to, "staff", 16, "bad_frame")
    else:
        to_kind, to_skill = to.get("queue"), to.get("skill")
        if to_kind not in ("youth", "professional"):
            raise ProtocolError("bad_frame", "queue must be 'youth' or 'professional'")
        if to_skill is not None and (
            not isinstance(to_skill, str)
            or not 1 <= len(to_skill) <= SKILL_MAX
            or not to_skill.replace("_", "").isalnum()
            or not to_skill.isascii()
        ):
            raise ProtocolError("bad_frame", "skill must be a short name such as 'police'")
    if note is not None and (
        not isinstance(note, str) or len(note) > NOTE_MAX_CHARS or not is_b64url(note)
    ):
        raise ProtocolError("bad_frame", "note must be base64url of at most 8 KiB (sealed)")
    if not isinstance(confirm := obj.get("confirm", False), bool):
        raise ProtocolError("bad_frame", "confirm must be true or false")
    return Transfer(conv, str(mode), to_staff, to_kind, to_skill, note, confirm)


def _parse_offer_answer(obj: dict[str, Any]) -> OfferAnswer:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    accept = obj.get("accept")
    if not isinstance(accept, bool):
        raise ProtocolError("bad_frame", "accept must be true or false")
    return OfferAnswer(conv, accept)


#: Each frame type's class and parser.
_FRAMES: Final[dict[str, tuple[type[Any], Callable[[dict[str, Any]], Frame]]]] = {
    "join": (Join, parse_join),
    "resume": (Resume, _parse_resume),
    "leave": (Leave, _parse_leave),
    "envelope": (SendEnvelope, _parse_envelope_frame),
    "sync": (Sync, _parse_sync),
    "close": (Close, _parse_close),
    "delete": (Delete, _parse_delete),
    "watch_board": (WatchBoard, _parse_watch_board),
    "watch_queue": (WatchQueue, _parse_watch_queue),
    "duty": (Duty, _parse_duty),
    "typing": (Signal, _parse_typing),
    "keys": (Keys, keyframes.parse_keys),
    "accept": (Accept, keyframes.parse_accept),
    "transcript_sig": (TranscriptSig, keyframes.parse_transcript_sig),
    "return_code": (ReturnCode, keyframes.parse_return_code),
    "undecryptable": (Undecryptable, _parse_undecryptable),
    "transfer": (Transfer, _parse_transfer),
    "offer_answer": (OfferAnswer, _parse_offer_answer),
    "share_history": (ShareHistory, keyframes.parse_share_history),
}
_TYPES: Final = {cls: kind for kind, (cls, _) in _FRAMES.items()}


def frame_type(frame: Frame) -> str:
    """The wire ``type`` of a parsed frame (the one ``parse_frame`` read)."""
    return _TYPES[type(frame)]
