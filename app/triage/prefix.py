"""Matching on the heads of the queues only, with the same result as on all of them (P-4).

``engine.assign`` walks the tickets in ``dispatch_order`` and stops as soon as every seat is
taken. With 5,000 waiting and one seat free it reads a handful, yet loading all 5,000 costs far
more than the rules. So the service loads the first ``n`` tickets of each queue (in
``queue_order``), assigns on those, and asks ``decides`` whether that result is the one the full
snapshot would give; only when it is not does it load everything.

Why the check is exact. The merge of ``dispatch_order`` looks only at the current head of each
queue, and ``choose_counsellor`` only at the ticket and the seats taken so far. Up to the step at
which ``assign`` stops, the walk over the heads equals the walk over the full queues as long as
no truncated queue ran out of loaded tickets at or before that step. ``assign`` stops early only
when every seat is taken; if seats are left it has read every loaded ticket, and tickets beyond
the heads could still take them, so the heads do not decide.
"""

from __future__ import annotations

from collections.abc import Collection

from app.triage.engine import (
    DEFAULT_ROUTING,
    Assignment,
    OnDutyCounsellor,
    QueueKey,
    Routing,
    WaitingTicket,
    dispatch_order,
)


def decides(
    heads: list[WaitingTicket],
    counsellors: list[OnDutyCounsellor],
    decided: list[Assignment],
    truncated: Collection[QueueKey],
    routing: Routing = DEFAULT_ROUTING,
) -> bool:
    """Whether ``decided = engine.assign(heads, counsellors)`` equals ``assign`` on the full
    queues, where ``truncated`` names the queues that have tickets beyond ``heads``.
    """
    if not truncated:
        return True
    free = sum(max(0, c.capacity - c.load) for c in counsellors)
    if len(decided) < free:
        return False
    order = dispatch_order(heads, routing)
    index = {t.id: i for i, t in enumerate(order)}
    stop = max((index[a.ticket_id] for a in decided), default=-1)
    last_loaded: dict[QueueKey, int] = {}
    for i, ticket in enumerate(order):
        last_loaded[ticket.queue] = i
    return all(last_loaded.get(queue, -1) > stop for queue in truncated)
