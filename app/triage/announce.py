"""Broker events for a change of who holds a conversation (``handover.Change``), published after
commit to every process: the young person's ticket channel and each counsellor's staff channel.
"""

from __future__ import annotations

import json

from app.events.broker import Broker
from app.events.channels import conv_channel, staff_channel, ticket_channel
from app.events.messages import closed_event
from app.triage.handover import Change


def announce(broker: Broker, change: Change, *, note: str | None = None) -> None:
    """Publish ``change``. ``note`` is a warm offer's sealed handoff note (never stored)."""
    conv = change.conv_id
    if change.kind == "offered":
        assert change.to_id is not None  # noqa: S101 - an offer has a target
        offer = {
            "t": "offer",
            "conv": conv,
            "kind": change.kind_of_queue,
            "language": change.language,
            "urgent": change.urgent,
            "expires_at": change.expires_at,
            "from": change.from_alias,
            "note": note,
        }
        broker.publish(staff_channel(change.to_id), json.dumps(offer))
        pending = {"t": "transfer", "conv": conv, "state": "offered", "to": change.to_alias}
        broker.publish(staff_channel(change.from_id), json.dumps(pending))
    elif change.kind == "handed_over":
        assert change.to_id is not None  # noqa: S101 - a handover has a target
        gone = {"t": "transferred", "conv": conv, "to": change.to_alias, "reason": "transfer"}
        broker.publish(staff_channel(change.from_id), json.dumps(gone))
        assigned = {
            "t": "assigned",
            "conv": conv,
            "kind": change.kind_of_queue,
            "language": change.language,
            "urgent": change.urgent,
        }
        broker.publish(staff_channel(change.to_id), json.dumps(assigned))
        paired = {"t": "paired", "conv": conv, "alias": change.to_alias}
        broker.publish(ticket_channel(change.ticket_id), json.dumps(paired))
    elif change.kind == "requeued":
        gone = {"t": "transferred", "conv": conv, "to": None, "reason": change.reason}
        broker.publish(staff_channel(change.from_id), json.dumps(gone))
        requeued = {"t": "requeued", "conv": conv}
        broker.publish(ticket_channel(change.ticket_id), json.dumps(requeued))
    elif change.kind == "returned":
        back = {"t": "transfer", "conv": conv, "state": "returned", "reason": change.reason}
        broker.publish(staff_channel(change.from_id), json.dumps(back))
        if change.to_id is not None:
            withdrawn = {"t": "offer_withdrawn", "conv": conv, "reason": change.reason}
            broker.publish(staff_channel(change.to_id), json.dumps(withdrawn))


def publish_closed(
    broker: Broker, conv_id: str, *, by: str, reason: str, offer_to: str | None = None
) -> None:
    """Tell both sides (in every process) that a conversation ended; a colleague it was being
    offered to sees the offer withdrawn. The caller then requests matching (capacity is free)."""
    who = "youth" if by == "Y" else "counsellor"
    frame = json.dumps(
        {"type": "closed", "conv": conv_id, "by": who, "reason": reason},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    broker.publish(conv_channel(conv_id), closed_event(frame))
    if offer_to is not None:
        withdrawn = {"t": "offer_withdrawn", "conv": conv_id, "reason": "closed"}
        broker.publish(staff_channel(offer_to), json.dumps(withdrawn))
