"""The life of each socket as an explicit state machine, pure (STYLE.md §2, §11a).

As in h11's ``_state.py``, a socket's phases are an enum and every way between them is an entry
of a table; whatever the tables do not name is impossible. Two kinds of input move a socket:

- **client frames**: before acting on one, the handler asks ``youth_frame`` / ``staff_frame``
  what it means in the current phase. A frame the phase does not accept raises the
  ``ProtocolError`` the client is answered with (``wrong_state``; the socket stays open).
- **events**: broker messages and the outcomes of the handler's own work. ``youth_next`` /
  ``staff_next`` give the phase after one, or ``None`` for an event that does not concern the
  socket in its phase (it is dropped). An event the table does not name for the phase raises
  ``ImpossibleTransition``: that is the server's bug, never the client's.

docs/PROTOCOL.md §2.1 names the young person's states; ``requeued`` shows as ``waiting`` there.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from app.kit.errors import ProtocolError
from app.relay.protocol import STAFF_TYPES, YOUTH_TYPES


class ImpossibleTransition(RuntimeError):
    """An event in a phase where the tables say it cannot happen."""


# ====================================================================== young person


class YouthPhase(StrEnum):
    NEW = "new"  # connected: may join or resume
    WAITING = "waiting"  # a ticket in the queue, with no conversation yet
    REQUEUED = "requeued"  # in the queue again, with its conversation (a transfer, a requeue)
    CHAT = "chat"  # paired with a counsellor
    ENDED = "ended"  # left, refused, closed or over: the socket is closing

    @property
    def shown(self) -> str:
        """The state's name for the client (docs/PROTOCOL.md §2.1)."""
        return YouthPhase.WAITING.value if self is YouthPhase.REQUEUED else self.value


#: The phases in which the ticket is in the queue (positions are pushed, a lost pairing is
#: looked up), and those in which it counts as present (a disconnect is recorded).
QUEUED: Final = frozenset({YouthPhase.WAITING, YouthPhase.REQUEUED})
PRESENT: Final = frozenset({YouthPhase.WAITING, YouthPhase.REQUEUED, YouthPhase.CHAT})


class YouthAction(StrEnum):
    """What a client frame means in the phase it arrives in."""

    JOIN = "join"
    RESUME = "resume"
    LEAVE_QUEUE = "leave_queue"  # the ticket leaves the queue: ``left``
    END_CHAT = "end_chat"  # leave or close while requeued: the conversation ends as "left"
    SEND = "send"
    SYNC = "sync"
    CLOSE = "close"  # the conversation ends as "closed"
    DELETE = "delete"  # the conversation ends and is deleted at once (S-18)
    TYPING = "typing"
    KEYS = "keys"
    RETURN_CODE = "return_code"
    SHARE_HISTORY = "share_history"
    UNDECRYPTABLE = "undecryptable"


_A = YouthAction
#: Each phase's frames (by ``type``) and their meaning; every other frame type is refused.
YOUTH_ACCEPTS: Final[Mapping[YouthPhase, Mapping[str, YouthAction]]] = {
    YouthPhase.NEW: {"join": _A.JOIN, "resume": _A.RESUME},
    YouthPhase.WAITING: {"leave": _A.LEAVE_QUEUE},
    YouthPhase.REQUEUED: {"leave": _A.END_CHAT, "close": _A.END_CHAT, "delete": _A.DELETE},
    YouthPhase.CHAT: {
        "envelope": _A.SEND,
        "sync": _A.SYNC,
        "close": _A.CLOSE,
        "delete": _A.DELETE,
        "typing": _A.TYPING,
        "keys": _A.KEYS,
        "return_code": _A.RETURN_CODE,
        "share_history": _A.SHARE_HISTORY,
        "undecryptable": _A.UNDECRYPTABLE,
    },
    YouthPhase.ENDED: {},
}
#: The frame table: (phase, frame type) -> meaning, or None (refused with ``wrong_state``).
YOUTH_FRAMES: Final[Mapping[tuple[YouthPhase, str], YouthAction | None]] = {
    (phase, kind): YOUTH_ACCEPTS[phase].get(kind) for phase in YouthPhase for kind in YOUTH_TYPES
}


class YouthEvent(StrEnum):
    JOINED = "joined"  # the join made a ticket
    REFUSED = "refused"  # the join was turned away (join limit, closed, nobody on duty, full)
    RESUMED_WAITING = "resumed_waiting"  # a resume found the ticket waiting
    RESUMED_REQUEUED = "resumed_requeued"  # ... waiting again with its conversation
    RESUMED_CHAT = "resumed_chat"  # ... in a chat
    RESUMED_ENDED = "resumed_ended"  # ... no longer live
    PAIRED = "paired"  # a counsellor took the ticket (broker ``Paired``, or found by reconcile)
    HANDED_OVER = "handed_over"  # ``Paired`` for the conversation this socket holds
    REQUEUED = "requeued"  # broker ``Requeued``: the chat went back to the queue
    LEFT = "left"  # the ticket left the queue (a ``leave`` frame)
    TICKET_OVER = "ticket_over"  # the queue dropped the ticket unpaired (found by reconcile)
    CLOSED = "closed"  # broker ``Closed``: the conversation ended


_P, _E = YouthPhase, YouthEvent
#: The event table: (phase, event) -> next phase, or None (dropped). Missing: impossible.
YOUTH_TRANSITIONS: Final[Mapping[tuple[YouthPhase, YouthEvent], YouthPhase | None]] = {
    (_P.NEW, _E.JOINED): _P.WAITING,
    (_P.NEW, _E.REFUSED): _P.ENDED,
    (_P.NEW, _E.RESUMED_WAITING): _P.WAITING,
    (_P.NEW, _E.RESUMED_REQUEUED): _P.REQUEUED,
    (_P.NEW, _E.RESUMED_CHAT): _P.CHAT,
    (_P.NEW, _E.RESUMED_ENDED): _P.ENDED,
    # Subscribed to the ticket (and, resuming a requeued chat, to its conversation) but not yet
    # waiting: a pairing now is found again by reconcile.
    (_P.NEW, _E.PAIRED): None,
    (_P.NEW, _E.HANDED_OVER): None,
    (_P.NEW, _E.REQUEUED): None,
    (_P.NEW, _E.CLOSED): _P.ENDED,
    (_P.WAITING, _E.PAIRED): _P.CHAT,
    (_P.WAITING, _E.REQUEUED): None,
    (_P.WAITING, _E.LEFT): _P.ENDED,
    (_P.WAITING, _E.TICKET_OVER): _P.ENDED,
    (_P.WAITING, _E.CLOSED): _P.ENDED,
    (_P.REQUEUED, _E.PAIRED): _P.CHAT,
    (_P.REQUEUED, _E.HANDED_OVER): _P.CHAT,
    (_P.REQUEUED, _E.REQUEUED): None,
    # A leave of the queue that a pairing and a requeue overtook while it was being stored.
    (_P.REQUEUED, _E.LEFT): _P.ENDED,
    (_P.REQUEUED, _E.TICKET_OVER): _P.ENDED,
    (_P.REQUEUED, _E.CLOSED): _P.ENDED,
    # In a chat, a pairing for another conversation is not this socket's.
    (_P.CHAT, _E.PAIRED): None,
    (_P.CHAT, _E.HANDED_OVER): _P.CHAT,
    (_P.CHAT, _E.REQUEUED): _P.REQUEUED,
    # A leave of the queue that a pairing overtook while it was being stored: the leave stands.
    (_P.CHAT, _E.LEFT): _P.ENDED,
    (_P.CHAT, _E.CLOSED): _P.ENDED,
    # Ended is final: what still arrives is dropped, or (the handler's own work) stays ended.
    (_P.ENDED, _E.PAIRED): None,
    (_P.ENDED, _E.HANDED_OVER): None,
    (_P.ENDED, _E.REQUEUED): None,
    (_P.ENDED, _E.LEFT): _P.ENDED,
    # The conversation closed while a resume into its requeued chat subscribed to it.
    (_P.ENDED, _E.RESUMED_REQUEUED): _P.ENDED,
    (_P.ENDED, _E.CLOSED): _P.ENDED,
}


def youth_frame(phase: YouthPhase, kind: str) -> YouthAction:
    """What a frame of type ``kind`` means in ``phase``.

    Raises ``ProtocolError("wrong_state")`` when the phase does not accept it (the caller answers
    the client; the socket stays open), and ``ImpossibleTransition`` for a type that is not a
    youth frame at all (the parser refuses those first).
    """
    try:
        action = YOUTH_FRAMES[phase, kind]
    except KeyError:
        raise ImpossibleTransition(f"{kind!r} is no frame of the youth socket") from None
    if action is None:
        raise ProtocolError("wrong_state", f"not possible now (state: {phase.shown})")
    return action


def youth_next(phase: YouthPhase, event: YouthEvent) -> YouthPhase | None:
    """The phase after ``event`` in ``phase``, or None when the event is to be dropped.

    Raises ``ImpossibleTransition`` when the table has no entry: the event cannot happen then.
    """
    try:
        return YOUTH_TRANSITIONS[phase, event]
    except KeyError:
        raise ImpossibleTransition(f"youth socket: {event} cannot happen in {phase}") from None


# ====================================================================== counsellor


class StaffPhase(StrEnum):
    OFF_DUTY = "off_duty"  # the console's account is not on duty (open chats stay theirs)
    ON_DUTY = "on_duty"  # on duty: new chats may be assigned
    CLOSED = "closed"  # the session ended (logout, expiry, disabled): the socket is closing


class StaffEvent(StrEnum):
    DUTY_ON = "duty_on"  # broker ``Duty(on=True)``, by any console of the account
    DUTY_OFF = "duty_off"  # broker ``Duty(on=False)``: a console, logout, or the heartbeat sweep
    SESSION_ENDED = "session_ended"  # broker ``Logout`` for this session, or found by the check
    ASSIGNED = "assigned"  # broker ``Assigned``: a conversation is this counsellor's now
    TRANSFERRED = "transferred"  # broker ``Transferred``: a conversation left this console
    NOTICE = "notice"  # ``Offer``, ``OfferWithdrawn``, ``TransferPending``, ``TransferReturned``,
    # ``DeviceAdded``


_LIVE: Final = (StaffPhase.OFF_DUTY, StaffPhase.ON_DUTY)
#: The frame table: (phase, frame type) -> accepted. A live console accepts every frame (duty
#: does not gate chats: open ones stay the counsellor's off duty); a closing one none.
STAFF_FRAMES: Final[Mapping[tuple[StaffPhase, str], bool]] = {
    (phase, kind): phase in _LIVE for phase in StaffPhase for kind in STAFF_TYPES
}
#: The event table: (phase, event) -> next phase, or None (dropped). Missing: impossible.
STAFF_TRANSITIONS: Final[Mapping[tuple[StaffPhase, StaffEvent], StaffPhase | None]] = {
    **{(phase, StaffEvent.DUTY_ON): StaffPhase.ON_DUTY for phase in _LIVE},
    **{(phase, StaffEvent.DUTY_OFF): StaffPhase.OFF_DUTY for phase in _LIVE},
    **{(phase, StaffEvent.SESSION_ENDED): StaffPhase.CLOSED for phase in _LIVE},
    **{
        (phase, event): phase
        for phase in _LIVE
        for event in (StaffEvent.ASSIGNED, StaffEvent.TRANSFERRED, StaffEvent.NOTICE)
    },
    # Closing: nothing that still arrives is acted on (the socket sends no more).
    **{(StaffPhase.CLOSED, event): None for event in StaffEvent},
}


def staff_frame(phase: StaffPhase, kind: str) -> None:
    """Check that ``phase`` accepts a frame of type ``kind``.

    Raises ``ProtocolError("wrong_state")`` when it does not, and ``ImpossibleTransition`` for a
    type that is not a console frame at all (the parser refuses those first).
    """
    try:
        accepted = STAFF_FRAMES[phase, kind]
    except KeyError:
        raise ImpossibleTransition(f"{kind!r} is no frame of the console socket") from None
    if not accepted:
        raise ProtocolError("wrong_state", "not possible on this socket")


def staff_next(phase: StaffPhase, event: StaffEvent) -> StaffPhase | None:
    """The phase after ``event`` in ``phase``, or None when the event is to be dropped.

    Raises ``ImpossibleTransition`` when the table has no entry.
    """
    try:
        return STAFF_TRANSITIONS[phase, event]
    except KeyError:
        raise ImpossibleTransition(f"console socket: {event} cannot happen in {phase}") from None
