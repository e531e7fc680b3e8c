"""Messages that cross the broker on a conversation's channel (``conv:<id>``)."""

from __future__ import annotations

from typing import Protocol


class _Relayed(Protocol):
    """What the broker needs of a stored envelope (``app.chat.envelope.Envelope``)."""

    @property
    def role(self) -> str: ...
    @property
    def seg(self) -> int: ...
    @property
    def inst(self) -> str: ...
    @property
    def seq(self) -> int: ...
    def delivery_frame(self) -> str: ...


def envelope_event(envelope: _Relayed) -> str:
    """The broker message for a stored envelope: routing fields, then the client frame."""
    return (
        f"E|{envelope.role}|{envelope.seg}|{envelope.inst}|{envelope.seq}|"
        f"{envelope.delivery_frame()}"
    )


def signal_event(role: str, frame: str) -> str:
    return f"T|{role}|{frame}"


def closed_event(frame: str) -> str:
    return f"X|{frame}"
