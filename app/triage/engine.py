"""Queue and routing rules, pure: snapshots in, decisions out, time passed in (DESIGN.md §4).

No I/O imports here (a test enforces it). The service loads a snapshot inside a transaction that
holds the matching lock, calls ``assign``, and applies the result in the same transaction.

Queues. A ticket waits in exactly one queue, ``QueueKey(kind, skill)``: the kind is ``youth`` or
``professional``; the skill is ``None`` for the general queue of that kind, or a skill such as
``police`` or ``health``. A counsellor serves a ticket (``can_serve``) when their ``skills`` hold
the ticket's kind and, if any, its skill, they speak its language, and, if the ticket requires an
organisation (municipality, health care, police), they belong to it.

Order within a queue (``queue_order``): urgent before normal, then earliest join, then id. This
order is strict: an urgent ticket never waits behind a normal ticket of the same queue, neither in
``positions`` nor in ``assign``.

Aging between queues (``dispatch_order``). Queues compete for the same counsellor only through
their heads. Each ticket has an *effective join time*: its join time, minus the policy's
``urgent_head_start`` if it is urgent. Among the heads of all queues the one with the earliest
effective join time goes first (ties: urgent first, then join time, then id). So an urgent ticket
counts as if it had waited ``urgent_head_start`` seconds longer; a normal ticket that has waited
longer than that overtakes an urgent ticket of *another* queue that joined after it.

How the two rules coexist: aging acts only between queues, never inside one. The bound it gives:
a ticket at the head of its queue is passed over only by tickets of other queues whose effective
join time is not later than its own, that is tickets that joined at most ``urgent_head_start``
after it. Tickets arriving later than that can never overtake it, so once it reaches the head it is
served after a bounded amount of work. Inside its own queue a normal ticket still waits behind
every urgent ticket of that queue, however late they came: danger now comes first, and a
supervisor alert (``alerts.py``) reports urgent tickets waiting, rather than aging eroding it.

Because the effective join time does not depend on the clock, the order is the same at any
``now``; waits are computed by callers as ``now - joined_at``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum

DEFAULT_CAPACITY = 2


class Priority(IntEnum):
    NORMAL = 0
    URGENT = 1


@dataclass(frozen=True, slots=True, order=True)
class QueueKey:
    """One queue: a kind (``youth`` | ``professional``) and an optional skill."""

    kind: str
    skill: str | None = None

    def __str__(self) -> str:
        return self.kind if self.skill is None else f"{self.kind}/{self.skill}"


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    id: int
    kind: str  # queue kind: youth | professional
    language: str
    priority: Priority
    joined_at: float  # first joined; kept across cold transfers and disconnects
    skill: str | None = None  # required skill, e.g. "police", "health"
    organisation: str | None = None  # required organisation, if any

    @property
    def queue(self) -> QueueKey:
        return QueueKey(self.kind, self.skill)


@dataclass(frozen=True, slots=True)
class OnDutyCounsellor:
    id: str
    languages: frozenset[str]
    skills: frozenset[str]  # queue kinds and skills served, e.g. {"youth", "police"}
    capacity: int = DEFAULT_CAPACITY
    load: int = 0  # open conversations (and warm offers pending to them)
    idle_since: float = 0.0
    organisation: str = "municipality"  # municipality | health care | police

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True, slots=True)
class Routing:
    """Tunable routing policy.

    ``urgent_head_start``: seconds an urgent ticket counts as having waited longer than it has,
    when queues compete for the same counsellor; also the bound of the aging guarantee.
    """

    urgent_head_start: float = 900.0


DEFAULT_ROUTING = Routing()


@dataclass(frozen=True, slots=True)
class Assignment:
    ticket_id: int
    counsellor_id: str


def queue_order(ticket: WaitingTicket) -> tuple[int, float, int]:
    """Sort key inside one queue: urgent first, then longest wait, then arrival (ids grow)."""
    return (-ticket.priority, ticket.joined_at, ticket.id)


def effective_join(ticket: WaitingTicket, routing: Routing = DEFAULT_ROUTING) -> float:
    """The join time used to compare heads of different queues (see the module docstring)."""
    if ticket.priority == Priority.URGENT:
        return ticket.joined_at - routing.urgent_head_start
    return ticket.joined_at


def _head_key(ticket: WaitingTicket, routing: Routing) -> tuple[float, int, float, int, str, str]:
    skill = "" if ticket.skill is None else ticket.skill
    return (
        effective_join(ticket, routing),
        -ticket.priority,
        ticket.joined_at,
        ticket.id,
        ticket.kind,
        skill,
    )


def can_serve(counsellor: OnDutyCounsellor, ticket: WaitingTicket) -> bool:
    """Whether the counsellor may take the ticket at all (capacity aside)."""
    return (
        ticket.kind in counsellor.skills
        and (ticket.skill is None or ticket.skill in counsellor.skills)
        and ticket.language in counsellor.languages
        and (ticket.organisation is None or ticket.organisation == counsellor.organisation)
    )


def can_be_served(ticket: WaitingTicket, counsellors: Iterable[OnDutyCounsellor]) -> bool:
    """Whether anyone on duty could take ``ticket`` at all: a counsellor with some capacity
    (free or not) who ``can_serve`` it. False means the ticket waits for nobody: no one on duty
    speaks its language, serves its queue (kind and skill) or belongs to its organisation, and
    it will not be served until someone who does comes on duty (PROTOCOL.md §2.1 ``unserved``).
    """
    return any(c.capacity > 0 and can_serve(c, ticket) for c in counsellors)


def queues(tickets: Iterable[WaitingTicket]) -> dict[QueueKey, list[WaitingTicket]]:
    """The tickets grouped by queue, each queue in ``queue_order``."""
    # Grouped by a plain tuple first: hashing a QueueKey per ticket costs more than all the rest
    # (PERFORMANCE.md P-4 runs this over 5,000 tickets on every change).
    by_pair: dict[tuple[str, str | None], list[WaitingTicket]] = {}
    for ticket in tickets:
        by_pair.setdefault((ticket.kind, ticket.skill), []).append(ticket)
    for queue in by_pair.values():
        queue.sort(key=queue_order)
    return {QueueKey(kind, skill): queue for (kind, skill), queue in by_pair.items()}


def dispatch_order(
    tickets: Iterable[WaitingTicket], routing: Routing = DEFAULT_ROUTING
) -> list[WaitingTicket]:
    """All tickets in the order ``assign`` considers them: a merge of the queues by their heads.

    Restricted to one queue the result is ``queue_order``; each next ticket is the head, among the
    remaining heads, with the earliest effective join time. Independent of input order.
    """
    return list(_merged(tickets, routing))


def _merged(tickets: Iterable[WaitingTicket], routing: Routing) -> Iterator[WaitingTicket]:
    """``dispatch_order`` lazily, so that ``assign`` stops merging once every seat is taken."""
    lanes = [iter(queue) for queue in queues(tickets).values()]
    heap: list[tuple[tuple[float, int, float, int, str, str], int, WaitingTicket]] = []
    for lane, it in enumerate(lanes):
        first = next(it, None)
        if first is not None:
            heap.append((_head_key(first, routing), lane, first))
    heapq.heapify(heap)
    while heap:
        _, lane, ticket = heapq.heappop(heap)
        yield ticket
        following = next(lanes[lane], None)
        if following is not None:
            heapq.heappush(heap, (_head_key(following, routing), lane, following))


def choose_counsellor(
    ticket: WaitingTicket,
    counsellors: Iterable[OnDutyCounsellor],
    load: dict[str, int] | None = None,
) -> OnDutyCounsellor | None:
    """The counsellor who should take ``ticket``: eligible, with free capacity, least loaded,
    then longest idle, then smallest id; ``None`` if nobody qualifies.

    ``load`` overrides the counsellors' own ``load`` (used while a batch is being decided).
    """
    current = {} if load is None else load
    eligible = [
        c for c in counsellors if current.get(c.id, c.load) < c.capacity and can_serve(c, ticket)
    ]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (current.get(c.id, c.load), c.idle_since, c.id))


def assign(
    tickets: list[WaitingTicket],
    counsellors: list[OnDutyCounsellor],
    *,
    routing: Routing = DEFAULT_ROUTING,
) -> list[Assignment]:
    """Pair waiting tickets with counsellors that have free capacity.

    Contract: each ticket at most once; no counsellor beyond capacity (one already over it gets
    nothing); tickets are considered in ``dispatch_order`` and each goes to ``choose_counsellor``,
    so no ticket is left waiting while a counsellor who can serve it has capacity, and a ticket is
    never passed over for one later in ``dispatch_order`` that the same counsellor took. The
    caller applies every returned assignment or none, in one transaction.
    """
    load = {c.id: c.load for c in counsellors}
    assignments: list[Assignment] = []
    if not any(c.load < c.capacity for c in counsellors):
        return assignments
    for ticket in _merged(tickets, routing):
        chosen = choose_counsellor(ticket, counsellors, load)
        if chosen is None:
            continue
        load[chosen.id] += 1
        assignments.append(Assignment(ticket_id=ticket.id, counsellor_id=chosen.id))
        if not any(load[c.id] < c.capacity for c in counsellors):
            break
    return assignments


@dataclass(frozen=True, slots=True)
class Place:
    position: int  # 1-based, within the ticket's queue
    waiting: int  # tickets in that queue


def positions(tickets: list[WaitingTicket]) -> dict[int, Place]:
    """Each waiting ticket's place in its queue: a permutation 1..n per queue (``queue_order``)."""
    places: dict[int, Place] = {}
    for queue in queues(tickets).values():
        for index, ticket in enumerate(queue, start=1):
            places[ticket.id] = Place(position=index, waiting=len(queue))
    return places


def requeue(ticket: WaitingTicket, queue: QueueKey | None = None) -> WaitingTicket:
    """The ticket back in a queue (its own, or ``queue``) with its priority and first join time.

    Used for cold transfers and for chats a disconnected counsellor had not yet answered: keeping
    the join time puts it ahead of everyone of its class who joined after it.
    """
    if queue is None:
        return ticket
    return WaitingTicket(
        id=ticket.id,
        kind=queue.kind,
        language=ticket.language,
        priority=ticket.priority,
        joined_at=ticket.joined_at,
        skill=queue.skill,
        organisation=ticket.organisation,
    )
