"""Queue and routing rules, pure: snapshots in, decisions out, time passed in (DESIGN.md §4).

No I/O imports here (a test enforces it). The service loads a snapshot inside a transaction that
holds the matching lock, calls ``assign``, and applies the result in the same transaction.

This is the core's simple engine: urgent before normal, then longest wait; the counsellor must
speak the ticket's language and serve its queue kind; least loaded, then longest idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    NORMAL = 0
    URGENT = 1


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    id: int
    kind: str  # queue kind: youth | professional
    language: str
    priority: Priority
    joined_at: float


@dataclass(frozen=True, slots=True)
class OnDutyCounsellor:
    id: str
    languages: frozenset[str]
    skills: frozenset[str]  # queue kinds served, e.g. {"youth", "professional"}
    capacity: int
    load: int  # open conversations
    idle_since: float


@dataclass(frozen=True, slots=True)
class Assignment:
    ticket_id: int
    counsellor_id: str


def queue_order(ticket: WaitingTicket) -> tuple[int, float, int]:
    """Sort key: urgent first, then longest wait, then arrival (ids grow with arrival)."""
    return (-ticket.priority, ticket.joined_at, ticket.id)


def can_serve(counsellor: OnDutyCounsellor, ticket: WaitingTicket) -> bool:
    return ticket.kind in counsellor.skills and ticket.language in counsellor.languages


def assign(tickets: list[WaitingTicket], counsellors: list[OnDutyCounsellor]) -> list[Assignment]:
    """Pair waiting tickets with counsellors that have free capacity.

    Contract: each ticket at most once; no counsellor beyond capacity; tickets are considered in
    ``queue_order``, so a ticket is never passed over for a later one that the same counsellor
    could take. The caller applies every returned assignment or none.
    """
    load = {c.id: c.load for c in counsellors}
    free = [c for c in counsellors if c.load < c.capacity]
    assignments: list[Assignment] = []
    for ticket in sorted(tickets, key=queue_order):
        eligible = [c for c in free if load[c.id] < c.capacity and can_serve(c, ticket)]
        if not eligible:
            continue
        chosen = min(eligible, key=lambda c: (load[c.id], c.idle_since, c.id))
        load[chosen.id] += 1
        assignments.append(Assignment(ticket_id=ticket.id, counsellor_id=chosen.id))
        if not any(load[c.id] < c.capacity for c in free):
            break
    return assignments


@dataclass(frozen=True, slots=True)
class Place:
    position: int  # 1-based, within the ticket's queue kind
    waiting: int  # tickets in that queue


def positions(tickets: list[WaitingTicket]) -> dict[int, Place]:
    """Each waiting ticket's place in its queue: a permutation 1..n per queue kind."""
    by_kind: dict[str, list[WaitingTicket]] = {}
    for ticket in tickets:
        by_kind.setdefault(ticket.kind, []).append(ticket)
    places: dict[int, Place] = {}
    for queue in by_kind.values():
        queue.sort(key=queue_order)
        for index, ticket in enumerate(queue, start=1):
            places[ticket.id] = Place(position=index, waiting=len(queue))
    return places
