"""The socket base of both reference clients (``YouthClient``, ``CounsellorClient``).

It keeps what a real client must keep: what was received of each stream as a contiguous prefix
plus the seqs beyond it (``SeqSet``: the ``sync`` cursors, de-duplication and the gaps), which
of its own envelopes were acknowledged, each by its own (seg, inst, seq), and every envelope not
acknowledged yet, sent again after ``unavailable`` (after a short pause), after ``synced`` and
on ``resend_unacked()`` (a reconnect).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from app.chat.envelope import Envelope, SeqSet, parse_envelope
from app.client.envelopes import Sender
from app.crypto import transcript
from app.kit import b64
from app.kit.errors import ProtocolError

Stream = tuple[int, str, str]

#: How long to wait before sending again an envelope the server could not store.
RESEND_AFTER_UNAVAILABLE = 0.5


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
    received: dict[Stream, SeqSet] = field(default_factory=dict)
    envelopes: list[Envelope] = field(default_factory=list)
    #: Per own stream, the seqs acknowledged: a prefix (the ``sync`` cursor) and those beyond.
    acks: dict[Stream, SeqSet] = field(default_factory=dict)
    #: Own envelopes sent and not acknowledged yet, by (stream, seq).
    unacked: dict[tuple[Stream, int], Envelope] = field(default_factory=dict)
    duplicates_received: int = 0
    #: Own envelopes sent (for a transcript signature or check, once acknowledged).
    sent: dict[tuple[str, int, str, str, int], Envelope] = field(default_factory=dict)
    #: Envelopes received that could not be opened (forged, or under a key not held): they
    #: leave their stream where it was.
    unreadable: list[Envelope] = field(default_factory=list)
    _resends: set[asyncio.Task[None]] = field(default_factory=set)
    #: For ``wss://``: the TLS context to verify the server with (None: the system's CAs).
    ssl_context: ssl.SSLContext | None = None

    @property
    def acked(self) -> dict[Stream, int]:
        """Per own stream, the seq up to which every envelope was acknowledged."""
        return {stream: seqs.prefix for stream, seqs in self.acks.items()}

    def is_acked(self, envelope: Envelope) -> bool:
        """True only once this very envelope's (seg, inst, seq) was acknowledged."""
        seqs = self.acks.get((envelope.seg, envelope.role, envelope.inst))
        return seqs is not None and envelope.seq in seqs

    async def _open(self, headers: dict[str, str]) -> None:
        origin = self.base_url.rstrip("/")
        tls: dict[str, Any] = {} if self.ssl_context is None else {"ssl": self.ssl_context}
        self.ws = await connect(
            _ws_url(self.base_url, self.path),
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,
            max_size=2**20,
            open_timeout=10,
            **tls,
        )

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None, "connect first"  # noqa: S101
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None, "connect first"  # noqa: S101
        await self.ws.send(data)

    def held(self, conv: str, seg: int) -> dict[transcript.EnvelopeId, bytes]:
        """``id -> d`` of what this client holds of a segment: every envelope received (that
        opened) and its own acknowledged ones; never one it only sent and the server did not
        store (a signature over it would cover an envelope the store lacks)."""
        mine = [e for e in self.sent.values() if self.is_acked(e)]
        ours = [e for e in (*self.envelopes, *mine) if e.conv == conv and e.seg == seg]
        return transcript.digest_map(
            b64.decode(conv),
            seg,
            [(e.role, b64.decode(e.inst), e.seq, b64.decode(e.ct)) for e in ours],
        )

    async def send_envelope(self, envelope: Envelope) -> None:
        """Send ``envelope``, kept as unacknowledged until its own ack arrives."""
        self.sent[envelope.key] = envelope
        if not self.is_acked(envelope):
            self.unacked[((envelope.seg, envelope.role, envelope.inst), envelope.seq)] = envelope
        await self.send({"type": "envelope", "envelope": envelope.as_dict()})

    async def resend_unacked(self) -> None:
        """Send again every envelope not acknowledged (after a reconnect; the server dedups)."""
        for envelope in list(self.unacked.values()):
            await self.send({"type": "envelope", "envelope": envelope.as_dict()})

    def _resend_later(self, envelope: Envelope) -> None:
        async def resend() -> None:
            await asyncio.sleep(RESEND_AFTER_UNAVAILABLE)
            key = ((envelope.seg, envelope.role, envelope.inst), envelope.seq)
            if key in self.unacked and self.ws is not None:
                try:
                    await self.send({"type": "envelope", "envelope": envelope.as_dict()})
                except Exception:  # noqa: S110 - gone: the next reconnect resends it
                    pass

        task = asyncio.get_running_loop().create_task(resend())
        self._resends.add(task)
        task.add_done_callback(self._resends.discard)

    def _unacked_by_ref(self, ref: object) -> Envelope | None:
        if not isinstance(ref, dict):
            return None
        for envelope in self.unacked.values():
            if (envelope.seg, envelope.inst, envelope.seq) == (
                ref.get("seg"),
                ref.get("inst"),
                ref.get("seq"),
            ):
                return envelope
        return None

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame, with envelopes and acks recorded on the way."""
        assert self.ws is not None, "connect first"  # noqa: S101
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self._record(frame)
        await self._keys_from(frame)
        if frame.get("type") == "synced":
            await self.resend_unacked()
        return frame

    async def _keys_from(self, frame: dict[str, Any]) -> None:
        """Key handling a real client does on its own (sealing, unsealing, accepting)."""

    def _record(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "envelope":
            try:  # shape and canonical ids, as the server checks them
                envelope = parse_envelope(frame.get("envelope"))
            except ProtocolError:
                return  # cannot come from an honest server: dropped unseen
            stream = (envelope.seg, envelope.role, envelope.inst)
            seqs = self.received.setdefault(stream, SeqSet())
            if envelope.seq in seqs:
                self.duplicates_received += 1
                return
            if not self._opens(envelope):
                self.unreadable.append(envelope)
                return
            seqs.add(envelope.seq)  # only what opened moves the stream on
            self.envelopes.append(envelope)
        elif frame.get("type") == "ack":
            stream = (frame["seg"], self.role_letter(), frame["inst"])
            self.acks.setdefault(stream, SeqSet()).add(frame["seq"])
            self.unacked.pop((stream, frame["seq"]), None)
        elif frame.get("type") == "error" and (sent := self._unacked_by_ref(frame.get("ref"))):
            if frame.get("code") == "unavailable":
                self._resend_later(sent)
            else:  # refused for good: sending it again would be refused again
                del self.unacked[((sent.seg, sent.role, sent.inst), sent.seq)]

    def missing(self) -> int:
        """Envelopes known to exist (a later seq arrived) but never received: after a sync,
        these could not be delivered."""
        return sum(seqs.missing() for seqs in self.received.values())

    def role_letter(self) -> str:
        raise NotImplementedError

    def _opens(self, envelope: Envelope) -> bool:
        """False when ``envelope`` is known not to open (a client holding its segment key
        checks); the relay-only clients hold no keys and take every envelope."""
        return True

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
            {"seg": seg, "role": role, "inst": inst, "seq": seqs.prefix}
            for (seg, role, inst), seqs in self.received.items()
        ]
        if own is not None:
            acked = self.acks.get((own.seg, own.role, own.inst), SeqSet()).prefix
            have.append({"seg": own.seg, "role": own.role, "inst": own.inst, "seq": acked})
        return have

    async def close(self) -> None:
        for task in list(self._resends):
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
