"""Shared type aliases: the nouns of the domain, and the values their states take.

The Literal types name the strings the database stores (plain ``String`` columns; the models say
``Mapped[TicketStatus]``), so they cost nothing at run time and change no schema.
"""

from __future__ import annotations

from typing import Literal, NewType

ConversationId = NewType("ConversationId", str)  # 16 random bytes, base64url
StaffId = NewType("StaffId", str)  # 16 random bytes, base64url
TicketId = NewType("TicketId", int)  # internal row id, never shown to a client
TicketToken = NewType("TicketToken", str)  # 128-bit bearer token, held in browser memory only

#: Who sent an envelope, or closed a chat: the young person or the counsellor (CRYPTO.md §4).
SenderRole = Literal["Y", "C"]
QueueKind = Literal["youth", "professional"]
StaffRole = Literal["counsellor", "supervisor", "admin"]
#: waiting -> assigned -> ended, or waiting -> left; a transfer to a queue or a counsellor whose
#: connection died puts an assigned ticket back to waiting.
TicketStatus = Literal["waiting", "assigned", "left", "ended"]
#: open -> closed; open -> requeued (its ticket waits again) -> open (someone took it) | closed;
#: open -> abandoned (the young person's connection stayed away past ``VH_YOUTH_GRACE_SECONDS``).
ConversationStatus = Literal["open", "requeued", "closed", "abandoned"]
