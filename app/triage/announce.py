"""Broker messages for a change of who holds a conversation (``handover.Change``), published after
commit to every process: the young person's ticket channel and each counsellor's staff channel.
"""

from __future__ import annotations

from app.events import messages
from app.events.broker import Broker
from app.events.channels import conv_channel, staff_channel, ticket_channel
from app.events.messages import encode
from app.triage.handover import Change


def announce(broker: Broker, change: Change, *, note: str | None = None) -> None:
    """Publish ``change``. ``note`` is a warm offer's sealed handoff note (never stored)."""
    conv = change.conv_id
    if change.kind == "offered":
        assert change.to_id is not None  # noqa: S101 - an offer has a target
        offer = messages.Offer(
            conv=conv,
            kind=change.kind_of_queue,
            language=change.language,
            urgent=change.urgent,
            expires_at=change.expires_at,
            from_alias=change.from_alias,
            note=note,
        )
        broker.publish(staff_channel(change.to_id), encode(offer))
        pending = messages.TransferPending(conv, to=change.to_alias)
        broker.publish(staff_channel(change.from_id), encode(pending))
    elif change.kind == "handed_over":
        assert change.to_id is not None  # noqa: S101 - a handover has a target
        assert change.to_alias is not None  # noqa: S101 - and the target's alias
        gone = messages.Transferred(conv, to=change.to_alias, reason="transfer")
        broker.publish(staff_channel(change.from_id), encode(gone))
        assigned = messages.Assigned(
            conv, kind=change.kind_of_queue, language=change.language, urgent=change.urgent
        )
        broker.publish(staff_channel(change.to_id), encode(assigned))
        paired = messages.Paired(conv, alias=change.to_alias)
        broker.publish(ticket_channel(change.ticket_id), encode(paired))
    elif change.kind == "requeued":
        gone = messages.Transferred(conv, to=None, reason=change.reason)
        broker.publish(staff_channel(change.from_id), encode(gone))
        requeued = messages.Requeued(conv, reason=change.reason)
        broker.publish(ticket_channel(change.ticket_id), encode(requeued))
    elif change.kind == "returned":
        back = messages.TransferReturned(conv, reason=change.reason)
        broker.publish(staff_channel(change.from_id), encode(back))
        if change.to_id is not None:
            withdrawn = messages.OfferWithdrawn(conv, reason=change.reason)
            broker.publish(staff_channel(change.to_id), encode(withdrawn))


def publish_closed(
    broker: Broker, conv_id: str, *, by: str, reason: str, offer_to: str | None = None
) -> None:
    """Tell both sides (in every process) that a conversation ended, closed by the side ``by``
    (``Y`` or ``C``); a colleague it was being offered to sees the offer withdrawn. The caller
    then requests matching (capacity is free)."""
    broker.publish(conv_channel(conv_id), encode(messages.Closed(conv_id, by=by, reason=reason)))
    if offer_to is not None:
        withdrawn = messages.OfferWithdrawn(conv_id, reason="closed")
        broker.publish(staff_channel(offer_to), encode(withdrawn))
