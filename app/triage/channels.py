"""Broker channel names of the queue: one per ticket, one per staff member, one for positions."""

from __future__ import annotations

QUEUE_CHANNEL = "queue"


def ticket_channel(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def staff_channel(staff_id: str) -> str:
    return f"staff:{staff_id}"
