"""Async clients for the young person's socket and the counsellor's console socket.

Each keeps what a real client must keep: received envelopes per stream (for ``sync`` cursors and
de-duplication), its own sender state, and which of its envelopes were acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from app.chat.protocol import Envelope, parse_envelope
from app.client.envelopes import Sender, envelope_dict

Stream = tuple[int, str, str]


def _ws_url(base_url: str, path: str) -> str:
    return base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + path


@dataclass
class Credentials:
    cookie_name: str
    cookie: str
    csrf_token: str
    staff_id: str


def login(base_url: str, username: str, password: str, code: str) -> Credentials:
    """Log in over HTTP (blocking; call via ``asyncio.to_thread`` from async code).

    Raises ``urllib.error.HTTPError`` (401 refused, 429 locked) as the server answers.
    """
    body = json.dumps({"username": username, "password": password, "totp": code}).encode()
    request = urllib.request.Request(  # noqa: S310 - base_url is the operator's own server
        base_url.rstrip("/") + "/staff/api/login",
        data=body,
        headers={"Content-Type": "application/json", "Origin": base_url.rstrip("/")},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        info = json.loads(response.read())
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    name, morsel = next(iter(jar.items()))
    return Credentials(name, morsel.value, info["csrf_token"], info["staff_id"])


@dataclass
class _Base:
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
        await self.send({"type": "envelope", "envelope": envelope_dict(envelope)})

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame, with envelopes and acks recorded on the way."""
        assert self.ws is not None, "connect first"  # noqa: S101
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self._record(frame)
        return frame

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


@dataclass
class YouthClient(_Base):
    path: str = "/ws/youth"
    ticket: str | None = None
    conv: str | None = None
    sender: Sender | None = None

    def role_letter(self) -> str:
        return "Y"

    async def connect(self) -> None:
        await self._open({})

    async def join(
        self, language: str = "sv", kind: str = "youth", danger_now: bool = False
    ) -> str:
        await self.send(
            {
                "type": "join",
                "triage": {"language": language, "kind": kind, "danger_now": danger_now},
            }
        )
        frame = await self.expect("ticket")
        self.ticket = str(frame["ticket"])
        return self.ticket

    async def wait_paired(self, timeout: float = 10.0) -> dict[str, Any]:
        frame = await self.expect("paired", timeout)
        self.conv = str(frame["conv"])
        if self.sender is None or self.sender.conv != self.conv:
            self.sender = Sender(conv=self.conv, role="Y")
        return frame

    async def resume(self) -> dict[str, Any]:
        assert self.ticket is not None, "join first"  # noqa: S101
        await self.send({"type": "resume", "ticket": self.ticket})
        return await self.expect("resumed")

    async def sync(self) -> dict[str, Any]:
        await self.send({"type": "sync", "conv": self.conv, "have": self.cursors(self.sender)})
        return await self.expect("synced")


@dataclass
class CounsellorClient(_Base):
    path: str = "/ws/staff"
    credentials: Credentials | None = None
    senders: dict[str, Sender] = field(default_factory=dict)

    def role_letter(self) -> str:
        return "C"

    async def connect(self, credentials: Credentials) -> dict[str, Any]:
        self.credentials = credentials
        await self._open({"Cookie": f"{credentials.cookie_name}={credentials.cookie}"})
        return await self.expect("hello")

    async def duty(self, on: bool = True) -> dict[str, Any]:
        await self.send({"type": "duty", "on": on})
        return await self.expect("duty")

    async def wait_assigned(self, timeout: float = 10.0) -> dict[str, Any]:
        frame = await self.expect("assigned", timeout)
        conv = str(frame["conv"])
        self.senders.setdefault(conv, Sender(conv=conv, role="C"))
        return frame

    async def sync(self, conv: str) -> dict[str, Any]:
        await self.send(
            {"type": "sync", "conv": conv, "have": self.cursors(self.senders.get(conv))}
        )
        return await self.expect("synced")
