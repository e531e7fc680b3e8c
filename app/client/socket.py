"""The socket base of both reference clients (``YouthClient``, ``CounsellorClient``).

It keeps what a real client must keep: received envelopes per stream (for ``sync`` cursors and
de-duplication), and which of its own envelopes were acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from app.chat.envelope import Envelope, parse_envelope
from app.client.envelopes import Sender

Stream = tuple[int, str, str]


def _ws_url(base_url: str, path: str) -> str:
    return base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + path


@dataclass
class SocketClient:
    """One socket of the service at ``base_url`` + ``path``. Subclasses name their
    ``role_letter`` and may handle keys in ``_keys_from``; every frame goes through ``recv``."""

    base_url: str
    path: str = ""
    ws: ClientConnection | None = None
    inbox: list[dict[str, Any]] = field(default_factory=list)
    received: dict[Stream, int] = field(default_factory=dict)
    envelopes: list[Envelope] = field(default_factory=list)
    acked: dict[Stream, int] = field(default_factory=dict)
    duplicates_received: int = 0

    async def _open(self, headers: dict[str, str]) -> None:
        origin = self.base_url.rstrip("/")
        self.ws = await connect(
            _ws_url(self.base_url, self.path),
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,
            max_size=2**20,
            open_timeout=10,
        )

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None, "connect first"  # noqa: S101
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None, "connect first"  # noqa: S101
        await self.ws.send(data)

    async def send_envelope(self, envelope: Envelope) -> None:
        await self.send({"type": "envelope", "envelope": envelope.as_dict()})

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame, with envelopes and acks recorded on the way."""
        assert self.ws is not None, "connect first"  # noqa: S101
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self._record(frame)
        await self._keys_from(frame)
        return frame

    async def _keys_from(self, frame: dict[str, Any]) -> None:
        """Key handling a real client does on its own (sealing, unsealing, accepting)."""

    def _record(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "envelope":
            envelope = parse_envelope(frame["envelope"])
            stream = (envelope.seg, envelope.role, envelope.inst)
            if envelope.seq <= self.received.get(stream, 0):
                self.duplicates_received += 1
                return
            self.received[stream] = envelope.seq
            self.envelopes.append(envelope)
        elif frame.get("type") == "ack":
            stream = (frame["seg"], self.role_letter(), frame["inst"])
            self.acked[stream] = max(self.acked.get(stream, 0), frame["seq"])

    def role_letter(self) -> str:
        raise NotImplementedError

    async def expect(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for a frame of type ``kind``; frames of other types are kept in ``inbox``."""
        for i, frame in enumerate(self.inbox):
            if frame.get("type") == kind:
                return self.inbox.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame.get("type") == kind:
                return frame
            self.inbox.append(frame)

    def cursors(self, own: Sender | None = None) -> list[dict[str, Any]]:
        """``have`` for a sync: what was received, plus this client's own acked stream."""
        have = [
            {"seg": seg, "role": role, "inst": inst, "seq": seq}
            for (seg, role, inst), seq in self.received.items()
        ]
        if own is not None:
            acked = self.acked.get((own.seg, own.role, own.inst), 0)
            have.append({"seg": own.seg, "role": own.role, "inst": own.inst, "seq": acked})
        return have

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
