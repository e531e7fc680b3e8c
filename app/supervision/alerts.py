"""Alerts for supervisors, computed from a snapshot of the queue (issue 4, item 6).

Pure: the shell builds a ``Snapshot`` (waiting tickets, counsellors on duty, whether the house is
open, the time) and shows whatever ``alerts`` returns; an alert disappears when the next snapshot
no longer produces it, so there is nothing to acknowledge or clear here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.triage.engine import (
    OnDutyCounsellor,
    Priority,
    QueueKey,
    WaitingTicket,
    can_be_served,
    queues,
)


class AlertKind(StrEnum):
    NOBODY_ON_DUTY = "nobody_on_duty"  # open, yet no counsellor on duty
    UNSERVABLE_URGENT = "unservable_urgent"  # an urgent ticket nobody on duty can serve, at once
    URGENT_WAITING = "urgent_waiting"  # an urgent ticket waited longer than urgent_grace
    WAIT_OVER_THRESHOLD = "wait_over_threshold"  # a queue's longest wait
    QUEUE_OVER_THRESHOLD = "queue_over_threshold"  # a queue's length


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Seconds for waits, tickets for lengths. An alert fires when the value is *over* it."""

    max_wait: float = 600.0
    max_queue: int = 10
    urgent_grace: float = 60.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    tickets: tuple[WaitingTicket, ...]
    counsellors: tuple[OnDutyCounsellor, ...]
    is_open: bool
    now: float


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    queue: QueueKey | None  # None for house-wide alerts
    ticket_id: int | None  # the urgent ticket, for URGENT_WAITING
    value: float  # the measured wait (s) or length
    threshold: float


def alerts(snapshot: Snapshot, thresholds: Thresholds = Thresholds()) -> list[Alert]:
    """Every alert the snapshot warrants, most serious kind first, then by queue and ticket.

    At most one ``WAIT_OVER_THRESHOLD`` and one ``QUEUE_OVER_THRESHOLD`` per queue, one
    ``URGENT_WAITING`` per urgent ticket, one ``UNSERVABLE_URGENT`` per urgent ticket nobody on
    duty can serve (``engine.can_be_served``; whatever its wait), one ``NOBODY_ON_DUTY`` (only
    while open).
    """
    found: list[Alert] = []
    if snapshot.is_open and not snapshot.counsellors:
        found.append(Alert(AlertKind.NOBODY_ON_DUTY, None, None, 0.0, 0.0))
    for key, queue in sorted(queues(snapshot.tickets).items(), key=lambda kv: _order(kv[0])):
        for ticket in queue:
            waited = snapshot.now - ticket.joined_at
            if ticket.priority == Priority.URGENT and not can_be_served(
                ticket, snapshot.counsellors
            ):
                # In danger now and nobody on duty can take it: no grace, a supervisor must act.
                found.append(Alert(AlertKind.UNSERVABLE_URGENT, key, ticket.id, waited, 0.0))
            if ticket.priority == Priority.URGENT and waited > thresholds.urgent_grace:
                found.append(
                    Alert(AlertKind.URGENT_WAITING, key, ticket.id, waited, thresholds.urgent_grace)
                )
        longest = max(snapshot.now - t.joined_at for t in queue)
        if longest > thresholds.max_wait:
            found.append(
                Alert(AlertKind.WAIT_OVER_THRESHOLD, key, None, longest, thresholds.max_wait)
            )
        if len(queue) > thresholds.max_queue:
            found.append(
                Alert(
                    AlertKind.QUEUE_OVER_THRESHOLD,
                    key,
                    None,
                    float(len(queue)),
                    thresholds.max_queue,
                )
            )
    rank = list(AlertKind)
    return sorted(
        found,
        key=lambda a: (
            rank.index(a.kind),
            _order(a.queue) if a.queue else ("", ""),
            a.ticket_id or 0,
        ),
    )


def _order(key: QueueKey) -> tuple[str, str]:
    return (key.kind, key.skill or "")
