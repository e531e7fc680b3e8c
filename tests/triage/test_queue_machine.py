"""R-24: A stateful model of the queue, driven through the pure engine and transfer rules.

Hypothesis runs random sequences of joins, leaves, duty changes, capacity changes, assignments,
answers, transfers (warm and cold, to people and queues), offer replies, disconnects and clock
advances, and checks the invariants of DESIGN.md §4 after every step. The model plays the shell:
it applies decisions exactly as the service must (an offer reserves capacity at its target; a
disconnected counsellor's unanswered chats go back to the queue with their first join time).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.triage import transfers
from app.triage.engine import (
    OnDutyCounsellor,
    Priority,
    QueueKey,
    Routing,
    WaitingTicket,
    assign,
    can_serve,
    positions,
    queue_order,
    queues,
    requeue,
)

ROUTING = Routing(urgent_head_start=30.0)
STAFF_IDS = ["a", "b", "c"]
QUEUES = [QueueKey("youth"), QueueKey("youth", "police"), QueueKey("professional")]


@dataclass(frozen=True)
class Staff:
    languages: frozenset[str]
    skills: frozenset[str]
    capacity: int
    on_duty: bool = False
    idle_since: float = 0.0


@dataclass(frozen=True)
class Chat:
    ticket: WaitingTicket
    counsellor_id: str
    answered: bool = False


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.next_id = 1
        self.staff: dict[str, Staff] = {}
        self.waiting: dict[int, WaitingTicket] = {}
        self.chats: dict[int, Chat] = {}
        self.offers: dict[int, transfers.Offer] = {}
        self.ceiling: dict[str, int] = {}  # load allowed over capacity after a capacity cut
        self.gone: set[int] = set()

    @initialize()
    def hire(self) -> None:
        self.staff = {
            "a": Staff(frozenset({"sv"}), frozenset({"youth"}), 2),
            "b": Staff(frozenset({"sv", "en"}), frozenset({"youth", "police"}), 1),
            "c": Staff(frozenset({"en"}), frozenset({"youth", "professional"}), 2),
        }
        self.ceiling = dict.fromkeys(STAFF_IDS, 0)

    # ------------------------------------------------------------------ helpers

    def load(self, cid: str) -> int:
        held = sum(1 for chat in self.chats.values() if chat.counsellor_id == cid)
        return held + sum(1 for offer in self.offers.values() if offer.to_id == cid)

    def on_duty(self) -> list[OnDutyCounsellor]:
        return [
            OnDutyCounsellor(cid, s.languages, s.skills, s.capacity, self.load(cid), s.idle_since)
            for cid, s in sorted(self.staff.items())
            if s.on_duty
        ]

    def released(self, cid: str) -> None:
        self.ceiling[cid] = min(self.ceiling[cid], self.load(cid))
        if self.load(cid) == 0:
            self.staff[cid] = replace(self.staff[cid], idle_since=self.now)

    def receive(self, cid: str) -> None:
        """Checks the capacity invariant for a counsellor about to gain a chat or an offer."""
        assert self.staff[cid].on_duty
        assert self.load(cid) < self.staff[cid].capacity, cid

    # ------------------------------------------------------------------ young people

    @rule(
        queue=st.sampled_from(QUEUES),
        language=st.sampled_from(["sv", "en"]),
        urgent=st.booleans(),
    )
    def join(self, queue: QueueKey, language: str, urgent: bool) -> None:
        priority = Priority.URGENT if urgent else Priority.NORMAL
        ticket = WaitingTicket(self.next_id, queue.kind, language, priority, self.now, queue.skill)
        self.waiting[ticket.id] = ticket
        self.next_id += 1

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.waiting)))
        del self.waiting[tid]
        self.gone.add(tid)

    @precondition(lambda self: self.chats)
    @rule(data=st.data())
    def end_chat(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.chats)))
        chat = self.chats.pop(tid)
        self.offers.pop(tid, None)
        self.gone.add(tid)
        self.released(chat.counsellor_id)

    # ------------------------------------------------------------------ counsellors

    @rule(cid=st.sampled_from(STAFF_IDS))
    def start_shift(self, cid: str) -> None:
        self.staff[cid] = replace(self.staff[cid], on_duty=True, idle_since=self.now)

    @rule(cid=st.sampled_from(STAFF_IDS))
    def end_shift(self, cid: str) -> None:
        # Ending a shift with chats or offers asks to transfer or finish first: refused here.
        if self.load(cid) == 0:
            self.staff[cid] = replace(self.staff[cid], on_duty=False)

    @rule(cid=st.sampled_from(STAFF_IDS))
    def disconnect(self, cid: str) -> None:
        """Heartbeat timeout: off duty; unanswered chats back to the queue, the rest end."""
        self.staff[cid] = replace(self.staff[cid], on_duty=False)
        for tid, offer in list(self.offers.items()):
            if offer.to_id == cid:
                del self.offers[tid]  # returned to its sender
        for tid, chat in list(self.chats.items()):
            if chat.counsellor_id != cid:
                continue
            del self.chats[tid]
            self.offers.pop(tid, None)
            if chat.answered:
                self.gone.add(tid)
            else:
                self.waiting[tid] = requeue(chat.ticket)
        self.ceiling[cid] = 0

    @rule(cid=st.sampled_from(STAFF_IDS), capacity=st.integers(1, 3))
    def set_capacity(self, cid: str, capacity: int) -> None:
        self.staff[cid] = replace(self.staff[cid], capacity=capacity)
        self.ceiling[cid] = self.load(cid)

    # ------------------------------------------------------------------ the engine

    @rule()
    def match(self) -> None:
        staff = self.on_duty()
        tickets = list(self.waiting.values())
        result = assign(tickets, staff, routing=ROUTING)
        by_staff = {c.id: c for c in staff}
        taken_ids = [a.ticket_id for a in result]
        assert len(taken_ids) == len(set(taken_ids))  # each ticket at most once
        load = {c.id: c.load for c in staff}
        for a in result:
            ticket = self.waiting[a.ticket_id]
            assert can_serve(by_staff[a.counsellor_id], ticket)
            assert load[a.counsellor_id] < by_staff[a.counsellor_id].capacity
            load[a.counsellor_id] += 1
        left = [t for t in tickets if t.id not in set(taken_ids)]
        # No eligible ticket waits while an eligible counsellor has capacity.
        for t in left:
            assert not any(can_serve(c, t) and load[c.id] < c.capacity for c in staff), t
        heads = {min(q, key=queue_order).id for q in queues(left).values()}
        for a in result:
            taken = self.waiting[a.ticket_id]
            for t in left:
                if not can_serve(by_staff[a.counsellor_id], t):
                    continue
                # Urgent never behind normal in the same queue.
                if t.queue == taken.queue:
                    assert queue_order(taken) < queue_order(t)
                # Aging: a head is overtaken by another queue's ticket only if that one joined
                # within the head start (its own queue's urgent tickets always go first).
                elif t.id in heads:
                    assert taken.joined_at <= t.joined_at + ROUTING.urgent_head_start
        for a in result:
            ticket = self.waiting.pop(a.ticket_id)
            self.chats[ticket.id] = Chat(ticket, a.counsellor_id)

    @precondition(lambda self: self.chats)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.chats)))
        self.chats[tid] = replace(self.chats[tid], answered=True)

    @precondition(lambda self: any(t not in self.offers for t in self.chats))
    @rule(
        data=st.data(),
        mode=st.sampled_from(list(transfers.Mode)),
        to_queue=st.booleans(),
        person=st.sampled_from(STAFF_IDS),
        queue=st.sampled_from(QUEUES),
    )
    def transfer(
        self,
        data: st.DataObject,
        mode: transfers.Mode,
        to_queue: bool,
        person: str,
        queue: QueueKey,
    ) -> None:
        tid = data.draw(st.sampled_from(sorted(t for t in self.chats if t not in self.offers)))
        chat = self.chats[tid]
        target: transfers.Target = (
            transfers.ToQueue(queue) if to_queue else transfers.ToPerson(person)
        )
        active = transfers.ActiveChat(chat.ticket, chat.counsellor_id)
        decision = transfers.request(active, target, mode, self.on_duty(), now=self.now)
        if isinstance(decision, transfers.Offer):
            self.receive(decision.to_id)
            self.offers[tid] = decision
        elif isinstance(decision, transfers.Handover):
            self.receive(decision.to_id)
            del self.chats[tid]
            self.chats[tid] = Chat(decision.chat.ticket, decision.to_id)
            self.released(chat.counsellor_id)
        elif isinstance(decision, transfers.Requeued):
            assert decision.ticket.priority == chat.ticket.priority
            assert decision.ticket.joined_at == chat.ticket.joined_at
            del self.chats[tid]
            self.waiting[tid] = decision.ticket
            self.released(chat.counsellor_id)

    @precondition(lambda self: self.offers)
    @rule(data=st.data(), accepted=st.booleans())
    def reply_to_offer(self, data: st.DataObject, accepted: bool) -> None:
        tid = data.draw(st.sampled_from(sorted(self.offers)))
        offer = self.offers.pop(tid)
        outcome = transfers.accept(offer, self.on_duty()) if accepted else transfers.decline(offer)
        if isinstance(outcome, transfers.Handover):
            sender = self.chats[tid].counsellor_id
            self.chats[tid] = Chat(outcome.chat.ticket, outcome.to_id)
            self.released(sender)
        else:
            assert self.chats[tid].counsellor_id == offer.chat.counsellor_id
            self.released(offer.to_id)

    @rule(seconds=st.sampled_from([1.0, 10.0, 60.0, 600.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds
        for tid, offer in list(self.offers.items()):
            if transfers.expire(offer, now=self.now) is not None:
                del self.offers[tid]
                self.released(offer.to_id)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def each_ticket_in_one_place(self) -> None:
        assert not set(self.waiting) & set(self.chats)
        assert not (set(self.waiting) | set(self.chats)) & self.gone
        assert set(self.offers) <= set(self.chats)
        for tid, ticket in self.waiting.items():
            assert ticket.id == tid

    @invariant()
    def capacity_holds(self) -> None:
        for cid, s in self.staff.items():
            assert self.load(cid) <= max(s.capacity, self.ceiling.get(cid, 0)), cid
            if not s.on_duty:
                assert self.load(cid) == 0, cid

    @invariant()
    def positions_are_a_permutation_per_queue(self) -> None:
        places = positions(list(self.waiting.values()))
        assert set(places) == set(self.waiting)
        for key in {t.queue for t in self.waiting.values()}:
            queue = [t for t in self.waiting.values() if t.queue == key]
            queue.sort(key=lambda t: places[t.id].position)
            assert [places[t.id].position for t in queue] == list(range(1, len(queue) + 1))
            for ahead, behind in itertools.pairwise(queue):
                assert ahead.priority >= behind.priority  # urgent never behind normal
                if ahead.priority == behind.priority:
                    assert ahead.joined_at <= behind.joined_at

    @invariant()
    def waits_never_negative(self) -> None:
        assert all(t.joined_at <= self.now for t in self.waiting.values())


QueueMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
test_queue_machine = QueueMachine.TestCase
