"""The counsellor's reference client: the console socket with a registered device.

Segment keys sealed to the device are unsealed and accepted as the browser console does them;
earlier chats a young person shares are opened with the same device. Before a transfer and at
a close the device signs what it holds of the segment (``sign_transcript``, issue 13 (5)).
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import crypto
from app.chat.envelope import Envelope, parse_envelope
from app.client import device as device_mod
from app.client.api import Credentials
from app.client.device import DeviceKeys
from app.client.envelopes import Sender, open_envelope
from app.client.socket import SocketClient
from app.crypto import transcript
from app.kit import b64


@dataclass
class CounsellorClient(SocketClient):
    """The counsellor's side. ``connect`` registers a device (new keys, or ``device_file``'s) and
    names it on the socket; segment keys sealed to it are unsealed and accepted automatically
    (``auto_accept=False`` leaves accepting to the caller)."""

    path: str = "/ws/staff"
    credentials: Credentials | None = None
    senders: dict[str, Sender] = field(default_factory=dict)
    device: DeviceKeys | None = None
    device_file: Path | None = None
    #: The account's enrolment code (``vhouse staff enrol``) for a device registered here;
    #: single-use, so it is forgotten once used.
    enrol_code: str | None = None
    auto_accept: bool = True
    #: Sign this device's clock into each acceptance (PROTOCOL.md §6.3); False acts as a
    #: console from before it did (a return visit then says the time is unverified).
    timed_accept: bool = True
    #: Segment keys by (conv, seg), in memory only.
    keys: dict[tuple[str, int], bytes] = field(default_factory=dict)
    #: Segments whose sealed key could not be opened, with the reason.
    key_errors: list[tuple[str, int, str]] = field(default_factory=list)
    #: Earlier conversations a returning young person shared, by current conv: (role, text).
    history: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def role_letter(self) -> str:
        return "C"

    def _opens(self, envelope: Envelope) -> bool:
        key = self.keys.get((envelope.conv, envelope.seg))
        if key is None:
            return True  # no key to check with (relay mode, or not sealed here)
        try:
            open_envelope(key, envelope)
        except crypto.MessageError:
            return False
        return True

    async def connect(self, credentials: Credentials) -> dict[str, Any]:
        self.credentials = credentials
        cookie = f"{credentials.cookie_name}={credentials.cookie}"
        if self.device is None and self.device_file is not None and self.device_file.exists():
            self.device = DeviceKeys.load(self.device_file)
        left = 0.0 if self.device is None else self.device.not_after - time.time()
        if self.device is not None and 60 < left < device_mod.RENEW_WITHIN:
            await asyncio.to_thread(
                functools.partial(
                    device_mod.renew,
                    self.base_url,
                    cookie,
                    credentials.csrf_token,
                    self.device,
                    fresh_login=credentials.fresh_login,
                )
            )
            if self.device_file is not None:
                self.device.save(self.device_file)
        if self.device is None or self.device.not_after <= time.time() + 60:
            self.device = self.device or DeviceKeys.generate()
            await asyncio.to_thread(
                functools.partial(
                    device_mod.register,
                    self.base_url,
                    cookie,
                    credentials.csrf_token,
                    self.device,
                    fresh_login=credentials.fresh_login,
                    enrol_code=self.enrol_code,
                )
            )
            self.enrol_code = None
            if self.device_file is not None:
                self.device.save(self.device_file)
        self.path = f"/ws/staff?device={self.device.device_id}"
        await self._open({"Cookie": cookie})
        return await self.expect("hello")

    async def _keys_from(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("assigned", "keys"):
            await self._unseal(frame)
        elif kind == "hello":
            for conv in frame.get("conversations", []):
                await self._unseal(conv)
        elif kind == "history":
            self._read_history(frame)

    def _read_history(self, frame: dict[str, Any]) -> None:
        if self.device is None or frame.get("device") != self.device.device_id:
            return
        earlier = frame["from"]
        keys = {
            item["seg"]: self.device.open_segment_key(earlier, item["seg"], item["wrap"])
            for item in frame["segments"]
        }
        messages = []
        for e in frame["envelopes"]:
            if e["seg"] in keys:
                body = open_envelope(keys[e["seg"]], parse_envelope(e))
                if body.get("type") == "text":  # not rekey or other control messages
                    messages.append((str(e["role"]), str(body["body"])))
        self.history[frame["conv"]] = messages

    async def _unseal(self, item: dict[str, Any]) -> None:
        conv, seg, wrap = item["conv"], item.get("seg"), item.get("wrap")
        if wrap is None or seg is None or self.device is None or (conv, seg) in self.keys:
            return
        if item.get("device") != self.device.device_id:
            self.key_errors.append((conv, seg, "sealed to another device"))
            return
        try:
            key = self.device.open_segment_key(conv, seg, wrap)
        except ValueError as exc:
            self.key_errors.append((conv, seg, str(exc) or type(exc).__name__))
            return
        self.keys[(conv, seg)] = key
        sender = self.senders.setdefault(conv, Sender(conv=conv, role="C", seg=seg))
        if seg > sender.seg:
            sender.start_segment(seg)
        if self.auto_accept and not item.get("accepted"):
            await self.accept(conv, seg)

    async def accept(self, conv: str, seg: int) -> None:
        assert self.device is not None  # noqa: S101 - connect registered one
        signed_at = int(time.time()) if self.timed_accept else None
        sig = self.device.accept(conv, seg, self.keys[(conv, seg)], signed_at)
        frame: dict[str, Any] = {"type": "accept", "conv": conv, "seg": seg, "sig": sig}
        if signed_at is not None:
            frame["signed_at"] = signed_at
        await self.send(frame)

    def transcript_frame(self, conv: str, seg: int) -> dict[str, Any]:
        """The ``transcript_sig`` frame signing what this device holds of segment ``seg``."""
        assert self.device is not None  # noqa: S101 - connect registered one
        signed = transcript.make_signature(
            self.device.sig_key, b64.decode(conv), seg, self.held(conv, seg)
        )
        return {"type": "transcript_sig", **signed}

    async def sign_transcript(self, conv: str) -> list[int]:
        """Sign each segment of ``conv`` whose key this device holds (PROTOCOL.md §6.6); the
        segments signed. Relay-only runs (no keys) sign nothing."""
        segs = sorted(seg for (c, seg) in self.keys if c == conv)
        for seg in segs:
            await self.send(self.transcript_frame(conv, seg))
        return segs

    async def close_chat(self, conv: str, tags: dict[str, Any] | None = None) -> None:
        """Sign the transcript, then close the chat (the close frame follows the signature)."""
        await self.sign_transcript(conv)
        await self.send({"type": "close", "conv": conv, **({"tags": tags} if tags else {})})

    async def transfer(
        self,
        conv: str,
        *,
        mode: str = "cold",
        to_staff: str | None = None,
        queue: str | None = None,
        skill: str | None = None,
        note: str | None = None,
        confirm: bool = False,
    ) -> None:
        """Ask to hand ``conv`` to a colleague (``to_staff``) or a queue (PROTOCOL.md §7),
        after signing the transcript; ``confirm``: cold to a queue even when nobody else on
        duty can serve it there."""
        to: dict[str, Any] = {"staff": to_staff} if to_staff else {"queue": queue, "skill": skill}
        await self.sign_transcript(conv)  # before handing off: what this device held
        frame = {"type": "transfer", "conv": conv, "mode": mode, "to": to, "note": note}
        await self.send({**frame, "confirm": confirm} if confirm else frame)

    async def answer_offer(self, conv: str, *, accept: bool) -> None:
        await self.send({"type": "offer_answer", "conv": conv, "accept": accept})

    async def wait_keys(self, conv: str, seg: int = 0, timeout: float = 10.0) -> bytes:
        """The segment key of ``conv``, once the young person has sealed it to this device."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (conv, seg) not in self.keys:
            self.inbox.append(await self.recv(max(0.01, deadline - loop.time())))
        return self.keys[(conv, seg)]

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
