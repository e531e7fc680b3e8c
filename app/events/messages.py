"""Every message that crosses the broker, pure: one frozen dataclass each, one ``encode`` and one
``decode`` (STYLE.md §11a).

A publisher builds a message and publishes ``encode(message)`` on a channel
(``app.events.channels``); a subscriber calls ``decode(text)``, matches on the type, and logs and
drops a ``BadMessage`` (never its text). The wire form is internal to the server (processes of
one version talk to each other): compact JSON ``{"t":<kind>,<fields>}``, except for the two
messages that carry a client frame already encoded, which travel as ``<letter>|<fields>|<frame>``
so that the frame is never escaped again: ``E|`` an envelope to relay (the hot path; built by
``envelope_event``, parsed by ``parse_envelope_event``) and ``S|`` a signal.

Channels and what they carry:

- ``ticket:<id>`` (the young person's socket): ``Paired``, ``Requeued``, ``Replaced``.
- ``staff:<id>`` (each console of the account): ``Assigned``, ``Duty``, ``Logout``, ``Offer``,
  ``OfferWithdrawn``, ``TransferPending``, ``TransferReturned``, ``Transferred``.
- ``conv:<id>`` (both sides of a conversation): ``EnvelopeRelayed``, ``Signal``, ``Closed``.
- ``queue``: ``QueueChanged``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Final, Protocol, TypeVar, cast

_T = TypeVar("_T")


class BadMessage(ValueError):
    """Text that is not a broker message: not JSON, an unknown kind, or wrong fields. The text is
    never part of the error (it may carry aliases or sealed notes)."""


def _str(value: object) -> bool:
    return isinstance(value, str)


def _optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _bool(value: object) -> bool:
    return isinstance(value, bool)


def _optional_number(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


#: How ``decode`` checks a JSON message's field, by its annotation.
_CHECKS: Final[dict[str, Callable[[object], bool]]] = {
    "str": _str,
    "str | None": _optional_str,
    "bool": _bool,
    "float | None": _optional_number,
}

_KINDS: dict[str, type[Any]] = {}
_KIND_OF: dict[type[Any], str] = {}
_FIELDS: dict[type[Any], tuple[tuple[str, Callable[[object], bool]], ...]] = {}


def _message(kind: str) -> Callable[[type[_T]], type[_T]]:
    """Register a JSON message class under its wire ``kind``. Raises ``KeyError`` at import for
    a field type that ``_CHECKS`` cannot check."""

    def register(cls: type[_T]) -> type[_T]:
        _KINDS[kind] = cls
        _KIND_OF[cls] = kind
        _FIELDS[cls] = tuple((f.name, _CHECKS[str(f.type)]) for f in fields(cast(Any, cls)))
        return cls

    return register


# --------------------------------------------------------------------------- ticket channel


@_message("paired")
@dataclass(frozen=True, slots=True)
class Paired:
    """A counsellor took the ticket's chat (a first pairing, a requeued chat taken again, or a
    handover): its conversation and the counsellor's alias."""

    conv: str
    alias: str


@_message("requeued")
@dataclass(frozen=True, slots=True)
class Requeued:
    """The ticket's chat went back to the queue; ``reason`` as ``Transferred``'s (``transfer``,
    ``unanswered``, ``shift_ended``, ``unaccepted``), told to the young person."""

    conv: str
    reason: str | None = None


@_message("replaced")
@dataclass(frozen=True, slots=True)
class Replaced:
    """The ticket was resumed on the connection ``by``; every other connection of it closes."""

    by: str


# --------------------------------------------------------------------------- staff channel


@_message("assigned")
@dataclass(frozen=True, slots=True)
class Assigned:
    """A conversation is this counsellor's now (matched, or handed over)."""

    conv: str
    kind: str
    language: str
    urgent: bool


@_message("duty")
@dataclass(frozen=True, slots=True)
class Duty:
    """The account went on or off duty (by any console, logout, or the heartbeat sweep)."""

    on: bool


@_message("device_added")
@dataclass(frozen=True, slots=True)
class DeviceAdded:
    """A new device was certified for this account (issue 13 (1)): its open consoles say so."""

    device_id: str


#: ``Logout.session`` for every session of the account.
ALL_SESSIONS: Final = "*"


@_message("logout")
@dataclass(frozen=True, slots=True)
class Logout:
    """The session with this token digest ended (or ``ALL_SESSIONS``): its consoles close."""

    session: str


@_message("offer")
@dataclass(frozen=True, slots=True)
class Offer:
    """A warm transfer offered to this counsellor by ``from_alias``; ``note`` is the handoff note
    sealed to their duty device (relayed once, never stored)."""

    conv: str
    kind: str
    language: str
    urgent: bool
    expires_at: float | None
    from_alias: str | None
    note: str | None


@_message("offer_withdrawn")
@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    """An offer to this counsellor is gone (declined, expired, target_gone, closed)."""

    conv: str
    reason: str | None


@_message("transfer_pending")
@dataclass(frozen=True, slots=True)
class TransferPending:
    """The sender's warm offer waits for the colleague ``to`` (an alias)."""

    conv: str
    to: str | None


@_message("transfer_returned")
@dataclass(frozen=True, slots=True)
class TransferReturned:
    """The sender's offer came back (declined, expired, target_gone): the chat stays theirs."""

    conv: str
    reason: str | None


@_message("transferred")
@dataclass(frozen=True, slots=True)
class Transferred:
    """The conversation left this counsellor: to the colleague ``to``, or (``None``) a queue."""

    conv: str
    to: str | None
    reason: str | None


# --------------------------------------------------------------------------- queue channel


@_message("queue_changed")
@dataclass(frozen=True, slots=True)
class QueueChanged:
    """Positions changed (a join, leave, assignment or requeue): recompute and push them."""


# --------------------------------------------------------------------------- conversation channel


@_message("closed")
@dataclass(frozen=True, slots=True)
class Closed:
    """The conversation ended, closed by the side ``by`` (``Y`` or ``C``) for ``reason``."""

    conv: str
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class EnvelopeRelayed:
    """A stored envelope, for the other side: its stream (``seg``, ``role``, ``inst``), ``seq``,
    and ``frame``, the client's ``envelope`` frame as encoded once by the sender's process."""

    role: str
    seg: int
    inst: str
    seq: int
    frame: str


@dataclass(frozen=True, slots=True)
class Signal:
    """A client frame from the side ``role`` for the other side's sockets, relayed as is and never
    stored: typing, presence, undecryptable, keys, accepted, history."""

    role: str
    frame: str


Message = (
    Paired
    | Requeued
    | Replaced
    | Assigned
    | Duty
    | DeviceAdded
    | Logout
    | Offer
    | OfferWithdrawn
    | TransferPending
    | TransferReturned
    | Transferred
    | QueueChanged
    | Closed
    | EnvelopeRelayed
    | Signal
)

_ROLES: Final = ("Y", "C")


class _Relayed(Protocol):
    """What ``envelope_event`` needs of a stored envelope (``app.chat.envelope.Envelope``)."""

    @property
    def role(self) -> str: ...
    @property
    def seg(self) -> int: ...
    @property
    def inst(self) -> str: ...
    @property
    def seq(self) -> int: ...
    def delivery_frame(self) -> str: ...


def envelope_event(envelope: _Relayed) -> str:
    """``encode(EnvelopeRelayed(...))`` of a stored envelope, without building the message."""
    return (
        f"E|{envelope.role}|{envelope.seg}|{envelope.inst}|{envelope.seq}|"
        f"{envelope.delivery_frame()}"
    )


def parse_envelope_event(text: str) -> EnvelopeRelayed:
    """The ``EnvelopeRelayed`` of ``E|…`` text; raises ``BadMessage`` for anything else."""
    parts = text.split("|", 5)
    if len(parts) != 6 or parts[0] != "E":
        raise BadMessage("not an envelope relay")
    _, role, seg, inst, seq, frame = parts
    if role not in _ROLES or not inst or not _is_u64(seg) or not _is_u64(seq):
        raise BadMessage("an envelope relay with a bad role, inst, seg or seq")
    return EnvelopeRelayed(role, int(seg), inst, int(seq), frame)


def _is_u64(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def encode(message: Message) -> str:
    """The broker text of ``message``; ``decode`` gives it back."""
    if isinstance(message, EnvelopeRelayed):
        m = message
        return f"E|{m.role}|{m.seg}|{m.inst}|{m.seq}|{m.frame}"
    if isinstance(message, Signal):
        return f"S|{message.role}|{message.frame}"
    body: dict[str, Any] = {"t": _KIND_OF[type(message)]}
    for name, _ in _FIELDS[type(message)]:
        body[name] = getattr(message, name)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode(text: str) -> Message:
    """The message ``encode`` made of ``text``; raises ``BadMessage`` for anything else."""
    head = text[:2]
    if head == "E|":
        return parse_envelope_event(text)
    if head == "S|":
        parts = text.split("|", 2)
        if len(parts) != 3 or parts[1] not in _ROLES:
            raise BadMessage("a signal with a bad role")
        return Signal(parts[1], parts[2])
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadMessage("not a broker message") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise BadMessage("not a broker message")
    kind = obj.pop("t")
    cls = _KINDS.get(kind)
    if cls is None:
        raise BadMessage("an unknown kind of broker message")
    spec = _FIELDS[cls]
    if obj.keys() != {name for name, _ in spec}:
        raise BadMessage(f"{kind} has the fields: {', '.join(n for n, _ in spec) or 'none'}")
    for name, check in spec:
        if not check(obj[name]):
            raise BadMessage(f"{kind}.{name} has the wrong type")
    message: Message = cls(**obj)
    return message
