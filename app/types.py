"""Shared type aliases: the nouns of the domain."""

from __future__ import annotations

from typing import Literal, NewType

ConversationId = NewType("ConversationId", str)  # 16 random bytes, base64url
StaffId = NewType("StaffId", str)  # 16 random bytes, base64url
TicketId = NewType("TicketId", int)  # internal row id, never shown to a client
TicketToken = NewType("TicketToken", str)  # 128-bit bearer token, held in browser memory only

Role = Literal["Y", "C"]  # young person, counsellor (CRYPTO.md §4)
QueueKind = Literal["youth", "professional"]
StaffRole = Literal["counsellor", "supervisor", "admin"]
