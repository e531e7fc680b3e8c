"""The sockets' state machines, without sockets: every table is total where it must be, the
documented paths work, and what cannot happen raises."""

from __future__ import annotations

import itertools

import pytest

from app.kit.errors import ProtocolError
from app.relay import protocol, states
from app.relay.protocol import STAFF_TYPES, YOUTH_TYPES
from app.relay.states import (
    ImpossibleTransition,
    StaffEvent,
    StaffPhase,
    YouthAction,
    YouthEvent,
    YouthPhase,
)

P, E = YouthPhase, YouthEvent


def _walk(events: list[YouthEvent], start: YouthPhase = P.NEW) -> list[YouthPhase]:
    phases = [start]
    for event in events:
        after = states.youth_next(phases[-1], event)
        assert after is not None, (phases[-1], event)
        phases.append(after)
    return phases


# ---------------------------------------------------------------------- youth frames


def test_every_youth_phase_and_frame_type_has_an_outcome() -> None:
    assert set(states.YOUTH_FRAMES) == set(itertools.product(YouthPhase, YOUTH_TYPES))
    for phase in YouthPhase:
        assert set(states.YOUTH_ACCEPTS[phase]) <= YOUTH_TYPES, phase


@pytest.mark.parametrize(("phase", "kind"), sorted(itertools.product(YouthPhase, YOUTH_TYPES)))
def test_a_youth_frame_is_accepted_or_refused_with_wrong_state(
    phase: YouthPhase, kind: str
) -> None:
    expected = states.YOUTH_FRAMES[phase, kind]
    if expected is not None:
        assert states.youth_frame(phase, kind) is expected
        return
    with pytest.raises(ProtocolError) as refused:
        states.youth_frame(phase, kind)
    assert refused.value.code == "wrong_state"
    assert refused.value.message == f"not possible now (state: {phase.shown})"


def test_what_each_youth_phase_accepts() -> None:
    accepted = {
        phase: {kind for kind in YOUTH_TYPES if states.YOUTH_FRAMES[phase, kind] is not None}
        for phase in YouthPhase
    }
    assert accepted == {
        P.NEW: {"join", "resume"},
        P.WAITING: {"leave"},
        P.REQUEUED: {"leave", "close", "delete"},
        P.CHAT: YOUTH_TYPES - {"join", "resume", "leave"},
        P.ENDED: set(),
    }


def test_leaving_means_the_queue_or_the_requeued_conversation() -> None:
    assert states.youth_frame(P.WAITING, "leave") is YouthAction.LEAVE_QUEUE
    assert states.youth_frame(P.REQUEUED, "leave") is YouthAction.END_CHAT
    assert states.youth_frame(P.REQUEUED, "close") is YouthAction.END_CHAT
    assert states.youth_frame(P.CHAT, "close") is YouthAction.CLOSE


def test_a_requeued_chat_shows_as_waiting() -> None:
    """PROTOCOL.md §2.1 names four states; the wrong_state message says "waiting" as before."""
    with pytest.raises(ProtocolError, match=r"\(state: waiting\)"):
        states.youth_frame(P.REQUEUED, "envelope")
    assert {phase.shown for phase in YouthPhase} == {"new", "waiting", "chat", "ended"}


def test_a_console_frame_is_no_youth_frame() -> None:
    for kind in sorted(STAFF_TYPES - YOUTH_TYPES):
        with pytest.raises(ImpossibleTransition):
            states.youth_frame(P.CHAT, kind)


# ---------------------------------------------------------------------- youth events


def test_every_youth_transition_names_real_phases_and_events() -> None:
    for (phase, event), after in states.YOUTH_TRANSITIONS.items():
        assert isinstance(phase, YouthPhase)
        assert isinstance(event, YouthEvent)
        assert after is None or isinstance(after, YouthPhase)


@pytest.mark.parametrize(("phase", "event"), sorted(itertools.product(YouthPhase, YouthEvent)))
def test_every_youth_phase_and_event_is_defined_or_impossible(
    phase: YouthPhase, event: YouthEvent
) -> None:
    if (phase, event) in states.YOUTH_TRANSITIONS:
        assert states.youth_next(phase, event) == states.YOUTH_TRANSITIONS[phase, event]
    else:
        with pytest.raises(ImpossibleTransition, match=str(event)):
            states.youth_next(phase, event)


@pytest.mark.parametrize(
    ("phase", "event"),
    [
        (P.CHAT, E.JOINED),  # one join per socket
        (P.WAITING, E.RESUMED_CHAT),  # resume only from new
        (P.ENDED, E.JOINED),
        (P.NEW, E.LEFT),  # nothing to leave
        (P.WAITING, E.HANDED_OVER),  # waiting holds no conversation
        (P.CHAT, E.TICKET_OVER),  # reconcile runs only while queued
        (P.ENDED, E.RESUMED_CHAT),
    ],
)
def test_impossible_youth_transitions_raise(phase: YouthPhase, event: YouthEvent) -> None:
    with pytest.raises(ImpossibleTransition):
        states.youth_next(phase, event)


def test_the_happy_path_new_waiting_chat_ended() -> None:
    assert _walk([E.JOINED, E.PAIRED, E.CLOSED]) == [P.NEW, P.WAITING, P.CHAT, P.ENDED]


def test_leaving_the_queue() -> None:
    assert _walk([E.JOINED, E.LEFT]) == [P.NEW, P.WAITING, P.ENDED]


def test_refused_joins_and_dead_tickets_end() -> None:
    assert _walk([E.REFUSED]) == [P.NEW, P.ENDED]
    assert _walk([E.RESUMED_ENDED]) == [P.NEW, P.ENDED]
    assert _walk([E.JOINED, E.TICKET_OVER]) == [P.NEW, P.WAITING, P.ENDED]


@pytest.mark.parametrize(
    ("resumed", "into"),
    [
        (E.RESUMED_WAITING, P.WAITING),
        (E.RESUMED_REQUEUED, P.REQUEUED),
        (E.RESUMED_CHAT, P.CHAT),
    ],
)
def test_resume_paths(resumed: YouthEvent, into: YouthPhase) -> None:
    phases = _walk([resumed, E.PAIRED if into is not P.CHAT else E.HANDED_OVER, E.CLOSED])
    assert phases == [P.NEW, into, P.CHAT, P.ENDED]


def test_requeue_and_handover_keep_the_chat_going() -> None:
    assert _walk([E.JOINED, E.PAIRED, E.HANDED_OVER, E.REQUEUED, E.HANDED_OVER, E.CLOSED]) == [
        P.NEW,
        P.WAITING,
        P.CHAT,
        P.CHAT,
        P.REQUEUED,
        P.CHAT,
        P.ENDED,
    ]
    assert _walk([E.RESUMED_REQUEUED, E.TICKET_OVER]) == [P.NEW, P.REQUEUED, P.ENDED]


def test_messages_that_are_not_for_the_phase_are_dropped() -> None:
    assert states.youth_next(P.NEW, E.PAIRED) is None  # reconcile finds it once waiting
    assert states.youth_next(P.CHAT, E.PAIRED) is None  # another conversation's pairing
    assert states.youth_next(P.WAITING, E.REQUEUED) is None
    for event in (E.PAIRED, E.HANDED_OVER, E.REQUEUED):
        assert states.youth_next(P.ENDED, event) is None


def test_a_closed_conversation_ends_every_phase_and_ended_is_final() -> None:
    for phase in YouthPhase:
        assert states.youth_next(phase, E.CLOSED) is P.ENDED
    for (phase, _event), after in states.YOUTH_TRANSITIONS.items():
        if phase is P.ENDED:
            assert after in (None, P.ENDED)


def test_queued_and_present_phases() -> None:
    assert frozenset({P.WAITING, P.REQUEUED}) == states.QUEUED
    assert states.PRESENT == states.QUEUED | {P.CHAT}


# ---------------------------------------------------------------------- console


def test_every_staff_phase_and_frame_type_has_an_outcome() -> None:
    assert set(states.STAFF_FRAMES) == set(itertools.product(StaffPhase, STAFF_TYPES))


@pytest.mark.parametrize(("phase", "kind"), sorted(itertools.product(StaffPhase, STAFF_TYPES)))
def test_a_live_console_accepts_every_frame_and_a_closing_one_none(
    phase: StaffPhase, kind: str
) -> None:
    if phase is StaffPhase.CLOSED:
        with pytest.raises(ProtocolError) as refused:
            states.staff_frame(phase, kind)
        assert refused.value.code == "wrong_state"
    else:
        states.staff_frame(phase, kind)


def test_a_youth_frame_is_no_console_frame() -> None:
    for kind in sorted(YOUTH_TYPES - STAFF_TYPES):
        with pytest.raises(ImpossibleTransition):
            states.staff_frame(StaffPhase.ON_DUTY, kind)


def test_every_staff_phase_and_event_is_defined() -> None:
    assert set(states.STAFF_TRANSITIONS) == set(itertools.product(StaffPhase, StaffEvent))


def test_duty_and_session_paths() -> None:
    off, on, closed = StaffPhase.OFF_DUTY, StaffPhase.ON_DUTY, StaffPhase.CLOSED
    assert states.staff_next(off, StaffEvent.DUTY_ON) is on
    assert states.staff_next(on, StaffEvent.DUTY_OFF) is off
    assert states.staff_next(on, StaffEvent.DUTY_ON) is on  # another console said so again
    for phase in (off, on):
        assert states.staff_next(phase, StaffEvent.SESSION_ENDED) is closed
        for event in (StaffEvent.ASSIGNED, StaffEvent.TRANSFERRED, StaffEvent.NOTICE):
            assert states.staff_next(phase, event) is phase
    for event in StaffEvent:
        assert states.staff_next(closed, event) is None


def test_an_unknown_staff_event_raises() -> None:
    with pytest.raises(ImpossibleTransition):
        states.staff_next(StaffPhase.ON_DUTY, "nonsense")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- frame types


def test_frame_type_names_each_parsed_frame_by_its_wire_type() -> None:
    assert len(protocol._TYPES) == len(protocol._FRAMES)  # one class per frame type
    for kind, (cls, parser) in protocol._FRAMES.items():
        assert parser.__annotations__["return"] == cls.__name__, kind
        assert protocol._TYPES[cls] == kind
