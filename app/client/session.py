"""Async clients for the young person's socket and the counsellor's console socket.

Each keeps what a real client must keep: received envelopes per stream (for ``sync`` cursors and
de-duplication), its own sender state, and which of its envelopes were acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from app.chat.envelope import Envelope, parse_envelope
from app.client import device as device_mod
from app.client.device import DeviceKeys
from app.client.envelopes import Sender, open_envelope, open_text
from app.crypto import certs, returncode
from app.kit import b64

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


@dataclass(frozen=True)
class Earlier:
    """An earlier conversation opened with a return code: its segment keys and its messages."""

    conv: str
    keys: dict[int, bytes]
    messages: list[tuple[str, str]]  # (role, text)


def _post_json(base_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON as a page of the service would (blocking); raises ``HTTPError`` on refusal."""
    origin = base_url.rstrip("/")
    request = urllib.request.Request(  # noqa: S310 - base_url is the operator's own server
        origin + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Origin": origin},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
    return answer


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


@dataclass
class YouthClient(_Base):
    """The young person's side. With ``service_key`` (the pinned 65-byte service public key) it
    does CRYPTO.md §3: it checks the certificates in ``paired``, seals a fresh segment key to the
    device and the period key, and checks the acceptance. Without one it only relays (the
    relay tests' mode): it never seals to anything it could not verify."""

    path: str = "/ws/youth"
    service_key: bytes | None = None
    ticket: str | None = None
    conv: str | None = None
    sender: Sender | None = None
    #: Segment keys by seg, in memory only.
    keys: dict[int, bytes] = field(default_factory=dict)
    #: Segments whose acceptance signature verified.
    accepted: set[int] = field(default_factory=set)
    _sig_keys: dict[int, bytes] = field(default_factory=dict)
    #: The device each segment is sealed to: (device_id, hpke public key).
    _devices: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)

    def role_letter(self) -> str:
        return "Y"

    async def fetch_history(self, code: str) -> list[Earlier]:
        """A return visit (CRYPTO.md §5): only the code's locator is sent; the wraps are opened
        with the code and the acceptance of every segment is checked before anything is read."""
        code = returncode.normalise_code(code)
        locator = b64.encode(returncode.locator(code))
        body = await asyncio.to_thread(
            _post_json, self.base_url, "/api/youth/return", {"locator": locator}
        )
        found = []
        for conv in body["conversations"]:
            raw_conv = b64.decode(conv["conv"])
            keys: dict[int, bytes] = {}
            for seg in conv["segments"]:
                kek = returncode.kek(code, b64.decode(seg["salt"]))
                key = returncode.unwrap_with_code(
                    kek, b64.decode(seg["nonce"]), b64.decode(seg["wrap"]), raw_conv, seg["seg"]
                )
                certs.verify_acceptance(
                    b64.decode(seg["sig_public_key"]),
                    raw_conv,
                    seg["seg"],
                    key,
                    b64.decode(seg["accept_sig"]),
                )
                if self.service_key is not None:
                    device = certs.DeviceCert.from_dict(seg["device"])
                    sealed_at = min(int(seg["sealed_at"]), device.not_after - 1)
                    device.verify(self.service_key, sealed_at)
                    if device.sig_public_key != seg["sig_public_key"]:
                        raise certs.VerificationError("the acceptance key is not the device's")
                keys[seg["seg"]] = key
            texts = [
                (e["role"], open_text(keys[e["seg"]], parse_envelope(e)))
                for e in conv["envelopes"]
                if e["seg"] in keys
            ]
            found.append(Earlier(conv["conv"], keys, texts))
        return found

    async def share_earlier_segments(self) -> dict[str, Any]:
        """With the young person's consent after a transfer: let the current counsellor read
        this chat's earlier segments (CRYPTO.md §5), sealed to their verified device."""
        assert self.sender is not None, "connect first"  # noqa: S101
        assert self.conv is not None, "connect first"  # noqa: S101
        current = self.sender.seg
        earlier = [(self.conv, seg, key) for seg, key in sorted(self.keys.items()) if seg < current]
        return await self._share(None, earlier)

    async def share_history(self, code: str, earlier: list[Earlier]) -> dict[str, Any]:
        """With the young person's consent: seal the earlier segments' keys to the current
        counsellor's device (the one this client verified) and file them under the code."""
        locator = b64.encode(returncode.locator(returncode.normalise_code(code)))
        segments = [
            (item.conv, seg, key) for item in earlier for seg, key in sorted(item.keys.items())
        ]
        return await self._share(locator, segments)

    async def _share(
        self, locator: str | None, segments: list[tuple[str, int, bytes]]
    ) -> dict[str, Any]:
        """Seal each (conv, seg, K) to the current segment's verified device: share_history."""
        assert self.sender is not None, "connect first"  # noqa: S101
        assert self.conv is not None, "connect first"  # noqa: S101
        current = self.sender.seg
        device_id, hpke_pub = self._devices[current]
        sealed = [
            {
                "conv": conv,
                "seg": seg,
                "wrap": b64.encode(
                    certs.seal_segment_key_to_device(
                        hpke_pub, key, b64.decode(conv), seg, device_id
                    )
                ),
            }
            for conv, seg, key in segments
        ]
        frame = {"type": "share_history", "conv": self.conv, "seg": current}
        await self.send({**frame, "locator": locator, "segments": sealed})
        return await self.expect("history_shared")

    async def _keys_from(self, frame: dict[str, Any]) -> None:
        if self.service_key is None:
            return
        if frame.get("type") == "paired":
            await self._seal(frame)
        elif frame.get("type") == "accepted":
            self._check_acceptance(int(frame["seg"]), str(frame["sig"]))

    async def _seal(self, frame: dict[str, Any]) -> None:
        assert self.service_key is not None  # noqa: S101 - checked by the caller
        conv, seg, period = frame["conv"], frame["seg"], frame["period"]
        now = int(time.time())
        raw_conv = b64.decode(conv)
        device = certs.DeviceCert.from_dict(frame["device"])
        device.verify(self.service_key, now)
        device_id = b64.decode(device.device_id)
        hpke_pub, sig_pub = b64.decode(device.hpke_public_key), b64.decode(device.sig_public_key)
        if period is not None:
            certs.verify_period_cert(
                self.service_key,
                b64.decode(period["period_id"]),
                b64.decode(period["public_key"]),
                int(period["not_before"]),
                int(period["not_after"]),
                b64.decode(period["certificate"]),
                now,
            )
        self._sig_keys[seg] = sig_pub
        self._devices[seg] = (device_id, hpke_pub)
        if self.sender is not None and self.sender.conv == conv and seg > self.sender.seg:
            old = self.sender.seg
            if old in self.keys and not frame["keys_stored"]:
                # CRYPTO.md §5: tell the old segment that the chat moves on to a new key.
                rekey = self.sender.message_envelope(
                    self.keys[old], {"type": "rekey", "body": {"seg": seg}}
                )
                await self.send_envelope(rekey)
            self.sender.start_segment(seg)
        if frame["keys_stored"]:
            if frame["accepted"] is not None and seg in self.keys:
                self._check_acceptance(seg, str(frame["accepted"]))
            return
        key = os.urandom(certs.SEGMENT_KEY_BYTES)
        self.keys[seg] = key
        wrap_o = None
        if period is not None:
            wrap_o = b64.encode(
                certs.seal_segment_key_to_period(
                    b64.decode(period["public_key"]),
                    key,
                    raw_conv,
                    seg,
                    b64.decode(period["period_id"]),
                )
            )
        wrap_c = certs.seal_segment_key_to_device(hpke_pub, key, raw_conv, seg, device_id)
        await self.send(
            {
                "type": "keys",
                "conv": conv,
                "seg": seg,
                "wrap_c": b64.encode(wrap_c),
                "wrap_o": wrap_o,
            }
        )

    def _check_acceptance(self, seg: int, sig: str) -> None:
        """Raises ``certs.VerificationError`` unless the certified device accepted our ``K``."""
        if seg not in self.keys or seg not in self._sig_keys or self.conv is None:
            raise certs.VerificationError("an acceptance for a segment this client did not seal")
        certs.verify_acceptance(
            self._sig_keys[seg], b64.decode(self.conv), seg, self.keys[seg], b64.decode(sig)
        )
        self.accepted.add(seg)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        """Wait for ``paired`` (unless seen already), then for the verified acceptance of the
        current segment: only now may messages be sent. The counsellor's client must be
        receiving meanwhile (it accepts when it reads the keys)."""
        if self.sender is None:
            await self.wait_paired(timeout)
        assert self.sender is not None  # noqa: S101 - set by wait_paired
        while self.sender.seg not in self.accepted:
            await self.expect("accepted", timeout)

    @property
    def key(self) -> bytes:
        """The current segment's key."""
        assert self.sender is not None, "not paired"  # noqa: S101
        return self.keys[self.sender.seg]

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
            self.sender = Sender(conv=self.conv, role="Y", seg=int(frame.get("seg", 0)))
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
    """The counsellor's side. ``connect`` registers a device (new keys, or ``device_file``'s) and
    names it on the socket; segment keys sealed to it are unsealed and accepted automatically
    (``auto_accept=False`` leaves accepting to the caller)."""

    path: str = "/ws/staff"
    credentials: Credentials | None = None
    senders: dict[str, Sender] = field(default_factory=dict)
    device: DeviceKeys | None = None
    device_file: Path | None = None
    auto_accept: bool = True
    #: Segment keys by (conv, seg), in memory only.
    keys: dict[tuple[str, int], bytes] = field(default_factory=dict)
    #: Segments whose sealed key could not be opened, with the reason.
    key_errors: list[tuple[str, int, str]] = field(default_factory=list)
    #: Earlier conversations a returning young person shared, by current conv: (role, text).
    history: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def role_letter(self) -> str:
        return "C"

    async def connect(self, credentials: Credentials) -> dict[str, Any]:
        self.credentials = credentials
        cookie = f"{credentials.cookie_name}={credentials.cookie}"
        if self.device is None and self.device_file is not None and self.device_file.exists():
            self.device = DeviceKeys.load(self.device_file)
        if self.device is None or self.device.not_after <= time.time() + 60:
            self.device = self.device or DeviceKeys.generate()
            await asyncio.to_thread(
                device_mod.register, self.base_url, cookie, credentials.csrf_token, self.device
            )
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
        sig = self.device.accept(conv, seg, self.keys[(conv, seg)])
        await self.send({"type": "accept", "conv": conv, "seg": seg, "sig": sig})

    async def transfer(
        self,
        conv: str,
        *,
        mode: str = "cold",
        to_staff: str | None = None,
        queue: str | None = None,
        skill: str | None = None,
        note: str | None = None,
    ) -> None:
        """Ask to hand ``conv`` to a colleague (``to_staff``) or a queue (PROTOCOL.md §7)."""
        to: dict[str, Any] = {"staff": to_staff} if to_staff else {"queue": queue, "skill": skill}
        await self.send({"type": "transfer", "conv": conv, "mode": mode, "to": to, "note": note})

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
