"""Each waiting ticket's place and honest wait range, pure (issue 4 item 4).

One pass over a snapshot: ``engine.positions`` for the places, ``waits.estimate`` for the ranges.
Staffing is computed once per kind of ticket (queue, language, organisation), not per ticket, so
the pass stays linear in the number of waiting tickets (PERFORMANCE.md P-4).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.triage import engine, waits


@dataclass(frozen=True, slots=True)
class Standing:
    place: engine.Place
    estimate: waits.Estimate
    #: Someone on duty can serve the ticket (``engine.can_be_served``); False: it waits for
    #: nobody, and the young person must be told so (``unserved``).
    served: bool = True


def _key(ticket: engine.WaitingTicket) -> tuple[str, str | None, str, str | None]:
    return (ticket.kind, ticket.skill, ticket.language, ticket.organisation)


def served(
    tickets: list[engine.WaitingTicket],
    counsellors: list[engine.OnDutyCounsellor],
    wanted: Collection[int],
) -> dict[int, bool]:
    """``engine.can_be_served`` of each waiting ticket in ``wanted``, decided once per kind of
    ticket (queue, language, organisation), so a pass over every watcher stays cheap."""
    by_id = {t.id: t for t in tickets}
    known: dict[tuple[str, str | None, str, str | None], bool] = {}
    result: dict[int, bool] = {}
    for ticket_id in wanted:
        ticket = by_id.get(ticket_id)
        if ticket is None:
            continue
        key = _key(ticket)
        if key not in known:
            known[key] = engine.can_be_served(ticket, counsellors)
        result[ticket_id] = known[key]
    return result


def standings(
    tickets: list[engine.WaitingTicket],
    counsellors: list[engine.OnDutyCounsellor],
    mean: float | None,
    wanted: Collection[int] | None = None,
    places: dict[int, engine.Place] | None = None,
) -> dict[int, Standing]:
    """The standing of every ticket in ``wanted`` (default: all) that is waiting.

    ``mean``: ``waits.mean_duration`` of recent chats (``None``: no data, estimates unknown).
    ``places``: ``engine.positions(tickets)`` when the caller has it already.
    """
    if places is None:
        places = engine.positions(tickets)
    by_id = {t.id: t for t in tickets}
    slots: dict[tuple[str, str | None, str, str | None], tuple[int, int]] = {}
    result: dict[int, Standing] = {}
    for ticket_id in places if wanted is None else wanted:
        place = places.get(ticket_id)
        if place is None:
            continue
        ticket = by_id[ticket_id]
        key = _key(ticket)
        if key not in slots:
            slots[key] = waits.serving_slots(ticket, counsellors)
        total, free = slots[key]
        estimate = waits.estimate(place.position, mean, total, free=free)
        # total > 0 exactly when engine.can_be_served (capacities are never negative).
        result[ticket_id] = Standing(place, estimate, served=total > 0)
    return result
