"""The frames of warm and cold transfers the server sends to consoles (PROTOCOL.md §7), pure.

Part of ``frames``, split out by topic.
"""

from __future__ import annotations

from app.events import messages
from app.relay.frames import dumps, error


def transfer_refused(conv: str, reason: str, message: str) -> str:
    """``{"type":"error","code":"transfer_refused","message","reason","conv"}`` (§7.2)."""
    return error("transfer_refused", message, reason=reason, conv=conv)


# --------------------------------------------------------------------------- the queue (§2.1)


def transferred(message: messages.Transferred) -> str:
    """``{"type":"transferred","conv","to":alias|null,"reason"}``: the conversation has left
    this console (``to`` null: back to a queue)."""
    m = message
    return dumps({"type": "transferred", "conv": m.conv, "to": m.to, "reason": m.reason})


def offer(message: messages.Offer) -> str:
    """``{"type":"offer","conv","kind","language","urgent","expires_at","from","note"}``: a warm
    transfer offered to this console by ``from`` (an alias); ``note`` is sealed to its device."""
    m = message
    return dumps(
        {
            "type": "offer",
            "conv": m.conv,
            "kind": m.kind,
            "language": m.language,
            "urgent": m.urgent,
            "expires_at": m.expires_at,
            "from": m.from_alias,
            "note": m.note,
        }
    )


def offer_withdrawn(message: messages.OfferWithdrawn) -> str:
    """``{"type":"offer_withdrawn","conv","reason"}``: an offer to this console is gone."""
    return dumps({"type": "offer_withdrawn", "conv": message.conv, "reason": message.reason})


def transfer_pending(message: messages.TransferPending) -> str:
    """``{"type":"transfer","conv","state":"offered","to"}``: the sender's offer waits for ``to``
    (the colleague's alias)."""
    return dumps({"type": "transfer", "conv": message.conv, "state": "offered", "to": message.to})


def transfer_returned(message: messages.TransferReturned) -> str:
    """``{"type":"transfer","conv","state":"returned","reason"}``: the offer came back; the chat
    stays with the sender."""
    m = message
    return dumps({"type": "transfer", "conv": m.conv, "state": "returned", "reason": m.reason})
