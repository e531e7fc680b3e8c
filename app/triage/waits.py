"""Honest wait estimates: a range from the recent service rate, never a point promise (§3.3, §4).

The service rate comes from an exponentially weighted mean of recent chat durations and the
capacity on duty for the ticket's queue. A ticket at position ``p`` waits, roughly, for ``p``
chats to end (minus any free slots); with ``slots`` chats running in parallel that takes about
``p * mean / slots``. The estimate widens that by ``spread`` on both sides and rounds outward to
whole ``step`` seconds, so the young person sees "about 5-15 minutes", not "7 minutes".

``Unknown`` is returned when there are no recent durations or nobody who could serve is on duty:
the shell must then say so, not guess. Pure: the caller supplies durations and staffing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.triage.engine import OnDutyCounsellor, WaitingTicket, can_serve

DEFAULT_ALPHA = 0.3
DEFAULT_SPREAD = 0.5
DEFAULT_STEP = 60.0


@dataclass(frozen=True, slots=True)
class WaitRange:
    """Seconds; ``low <= high``, both multiples of the rounding step."""

    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: str  # no_data | no_one_on_duty


Estimate = WaitRange | Unknown


def mean_duration(durations: Sequence[float], alpha: float = DEFAULT_ALPHA) -> float | None:
    """Exponentially weighted mean of chat durations, oldest first; ``None`` when empty.

    Each newer duration weighs ``alpha`` against the mean so far. Negative durations (clock
    trouble) are ignored. Raises ``ValueError`` unless ``0 < alpha <= 1``.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError("alpha must be in (0, 1]")
    mean: float | None = None
    for duration in durations:
        if duration < 0:
            continue
        mean = duration if mean is None else alpha * duration + (1 - alpha) * mean
    return mean


def serving_slots(
    ticket: WaitingTicket, counsellors: Iterable[OnDutyCounsellor]
) -> tuple[int, int]:
    """(total capacity, free capacity) of the on-duty counsellors who can serve ``ticket``."""
    eligible = [c for c in counsellors if can_serve(c, ticket)]
    return sum(c.capacity for c in eligible), sum(c.free for c in eligible)


def estimate(
    position: int,
    mean: float | None,
    slots: int,
    *,
    free: int = 0,
    spread: float = DEFAULT_SPREAD,
    step: float = DEFAULT_STEP,
) -> Estimate:
    """The wait range for the ticket at 1-based ``position`` in its queue.

    ``mean``: ``mean_duration`` of recent chats; ``slots``: capacity on duty for the queue;
    ``free``: of which free now. Guarantees: ``0 <= low <= high``; ``low`` and ``high`` never
    decrease as ``position`` grows or as ``slots`` shrink. Raises ``ValueError`` for a position
    below 1, a negative spread or a non-positive step.
    """
    if position < 1:
        raise ValueError("positions start at 1")
    if spread < 0 or step <= 0:
        raise ValueError("spread must be >= 0 and step > 0")
    if slots <= 0:
        return Unknown("no_one_on_duty")
    if mean is None:
        return Unknown("no_data")
    ahead = max(0, position - min(free, slots))
    central = ahead * mean / slots
    low = math.floor(central * max(0.0, 1.0 - spread) / step) * step
    high = max(step, math.ceil(central * (1.0 + spread) / step) * step)
    return WaitRange(low=float(low), high=float(high))
