"""A bare WebSocket client for the load generators: frames straight on the transport.

The generators open and set up their sockets with the project's own clients (`websockets`:
the handshake, login, join, pairing), then hand each socket here for the measured load.
`websockets` costs its client about as much per frame as the whole L0 server, so with it a
generator on one core could not keep L0 busy (PERFORMANCE.md: the generator must stay under
~70 % of its core). Here a frame costs a header, one ``transport.write`` and a slice.

What it does, and only that (RFC 6455): text frames out, masked with the all-zero key (a
legal key; the masking is then the identity, so nothing is copied); unfragmented text frames
in, handed on as ``bytes``; pings answered with pongs; a close answered and the transport
closed. Not a general client: never used by the app or its tests.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

_ZERO_MASK = b"\x00\x00\x00\x00"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


def frame_header(opcode: int, length: int) -> bytes:
    """The header of one final, masked client frame (the mask key included)."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, 0x80 | length)) + _ZERO_MASK
    if length < 1 << 16:
        return struct.pack("!BBH", first, 0x80 | 126, length) + _ZERO_MASK
    return struct.pack("!BBQ", first, 0x80 | 127, length) + _ZERO_MASK


class RawSocket(asyncio.Protocol):
    """One client connection after its set-up; ``on_text(payload)`` for each text frame."""

    def __init__(self, transport: asyncio.Transport, on_text: Callable[[bytes], None]) -> None:
        self.transport = transport
        self.on_text = on_text
        self.closed = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        #: The protocol that had the transport before: told when the connection is lost.
        self._before: asyncio.BaseProtocol | None = None

    async def send(self, text: str) -> None:
        """Write one text frame (never waits: the load generators pace themselves)."""
        data = text.encode()
        self.transport.write(frame_header(_TEXT, len(data)) + data)

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(frame_header(_CLOSE, 2) + struct.pack("!H", 1000))
            self.transport.close()

    # ------------------------------------------------------------------ asyncio.Protocol

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        at = 0
        end = len(buffer)
        while end - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length = second & 0x7F
            head = 2
            if length == 126:
                if end - at < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, at + 2)
                head = 4
            elif length == 127:
                if end - at < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, at + 2)
                head = 10
            if end - at < head + length:
                break
            payload = bytes(buffer[at + head : at + head + length])
            at += head + length
            self._frame(first & 0x0F, payload)
        del buffer[:at]

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == _TEXT:
            self.on_text(payload)
        elif opcode == _PING:
            self.transport.write(frame_header(_PONG, len(payload)) + payload)
        elif opcode == _CLOSE:
            self.close()
        # Pongs and anything else: nothing to do.

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if self._before is not None:
            self._before.connection_lost(exc)  # its close() then returns at once


def take_over(ws: ClientConnection, on_text: Callable[[bytes], None]) -> RawSocket:
    """Move an open ``websockets`` connection's transport to a ``RawSocket``. Call it when the
    socket is quiet (set-up done): frames already read by ``websockets`` stay there."""
    transport: Any = ws.transport
    if ws.keepalive_task is not None:  # its pings' pongs would never reach it
        ws.keepalive_task.cancel()
    raw = RawSocket(transport, on_text)
    raw._before = transport.get_protocol()
    transport.set_protocol(raw)
    if not transport.is_reading():
        transport.resume_reading()
    return raw
