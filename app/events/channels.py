"""Broker channel names: one per conversation, one per ticket, one per staff member, and the
queue's (positions changed)."""

from __future__ import annotations

QUEUE_CHANNEL = "queue"


def ticket_channel(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def staff_channel(staff_id: str) -> str:
    return f"staff:{staff_id}"


def conv_channel(conv_id: str) -> str:
    return f"conv:{conv_id}"
