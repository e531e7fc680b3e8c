"""The young person's reference client: the youth socket and CRYPTO.md §3 and §5 on its side.

It checks the certificates of each pairing against the pinned service key before it seals,
keeps segment keys in memory only, and reads earlier chats with a return code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from app import crypto
from app.chat.envelope import Envelope, parse_envelope
from app.client.api import post_json
from app.client.envelopes import Sender, open_envelope, open_text
from app.client.socket import SocketClient
from app.crypto import certs, returncode, sign, transcript, youthsig
from app.kit import b64


@dataclass(frozen=True)
class Earlier:
    """An earlier conversation opened with a return code: its segment keys and its messages."""

    conv: str
    keys: dict[int, bytes]
    messages: list[tuple[str, str]]  # (role, text)
    #: Segments accepted before acceptances were timed: their certificate was checked at the
    #: server's ``sealed_at``, a time nothing signed (PROTOCOL.md §6.5).
    time_unverified: set[int] = field(default_factory=set)


@dataclass
class YouthClient(SocketClient):
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
    #: Each ``transcript_sig`` checked (the page's youth/integrity.js): (seg, "ok" or why not).
    transcript_checks: list[tuple[int, str]] = field(default_factory=list)
    #: The page's signing key for this conversation (PROTOCOL.md §6.7): its public point goes
    #: in ``join``, and every envelope sent is signed with it. ``None``: an older client that
    #: does not sign (its messages show as "sender not verifiable").
    sig_key: ec.EllipticCurvePrivateKey | None = field(default_factory=sign.generate_private_key)
    #: This client's clock (unix seconds): a signed time must not lie ahead of it.
    clock: Callable[[], float] = time.time

    def role_letter(self) -> str:
        return "Y"

    def _opens(self, envelope: Envelope) -> bool:
        key = self.keys.get(envelope.seg)
        if key is None or envelope.conv != self.conv:
            return True  # no key to check with (relay mode, or not sealed here)
        try:
            open_envelope(key, envelope)
        except crypto.MessageError:
            return False
        return True

    async def fetch_history(self, code: str) -> list[Earlier]:
        """A return visit (CRYPTO.md §5): only the code's locator is sent; the wraps are opened
        with the code and the acceptance of every segment is checked before anything is read."""
        code = returncode.normalise_code(code)
        locator = b64.encode(returncode.locator(code))
        body = await asyncio.to_thread(
            post_json, self.base_url, "/api/youth/return", {"locator": locator}
        )
        found = []
        for conv in body["conversations"]:
            raw_conv = b64.decode(conv["conv"])
            keys: dict[int, bytes] = {}
            untimed: set[int] = set()
            for seg in conv["segments"]:
                kek = returncode.kek(code, b64.decode(seg["salt"]))
                key = returncode.unwrap_with_code(
                    kek, b64.decode(seg["nonce"]), b64.decode(seg["wrap"]), raw_conv, seg["seg"]
                )
                signed_at = seg.get("accept_at")
                if signed_at is not None and not isinstance(signed_at, int):
                    raise certs.VerificationError("the acceptance's signed time is not a number")
                certs.verify_acceptance(
                    b64.decode(seg["sig_public_key"]),
                    raw_conv,
                    seg["seg"],
                    key,
                    b64.decode(seg["accept_sig"]),
                    signed_at,
                )
                if self.service_key is not None:
                    device = certs.DeviceCert.from_dict(seg["device"])
                    if device.sig_public_key != seg["sig_public_key"]:
                        raise certs.VerificationError("the acceptance key is not the device's")
                    if signed_at is None:
                        # An untimed acceptance: only the server says when it was sealed.
                        sealed_at = min(int(seg["sealed_at"]), device.not_after - 1)
                        device.verify(self.service_key, sealed_at)
                        untimed.add(seg["seg"])
                    else:
                        now = int(self.clock())
                        certs.check_signed_time(device, self.service_key, signed_at, now)
                keys[seg["seg"]] = key
            texts = [
                (e["role"], open_text(keys[e["seg"]], parse_envelope(e)))
                for e in conv["envelopes"]
                if e["seg"] in keys
            ]
            found.append(Earlier(conv["conv"], keys, texts, untimed))
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
            self._check_acceptance(int(frame["seg"]), str(frame["sig"]), frame.get("signed_at"))
        elif frame.get("type") == "transcript_sig":
            self.transcript_checks.append((int(frame["seg"]), self._check_transcript(frame)))

    def _check_transcript(self, frame: dict[str, Any]) -> str:
        """As the page does: the certified device signed exactly the envelopes it names, this
        client holds them all with those bytes, and every counsellor envelope held is named."""
        seg = int(frame["seg"])
        if self.conv is None or frame.get("conv") != self.conv or seg not in self._sig_keys:
            return "not this client's segment"
        held = self.held(self.conv, seg)
        try:
            signed = transcript.SignedTranscript(
                conv=b64.decode(self.conv),
                seg=seg,
                n=int(frame["n"]),
                digest=b64.decode(frame["digest"]),
                sig=b64.decode(frame["sig"]),
                covers=transcript.parse_covers(frame["covers"]),
            )
            signed.verify(self._sig_keys[seg], held)
        except (certs.VerificationError, ValueError, KeyError, TypeError) as exc:
            return f"mismatch: {exc}"
        unsigned = [i for i in held if i[0] == "C" and i not in signed.covers]
        return "ok" if not unsigned else f"mismatch: {len(unsigned)} counsellor envelope(s)"

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
                self._check_acceptance(seg, str(frame["accepted"]), frame.get("accepted_at"))
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

    def _check_acceptance(self, seg: int, sig: str, signed_at: object = None) -> None:
        """Raises ``certs.VerificationError`` unless the certified device accepted our ``K``
        (with the time it signed, when the acceptance is timed)."""
        if seg not in self.keys or seg not in self._sig_keys or self.conv is None:
            raise certs.VerificationError("an acceptance for a segment this client did not seal")
        if signed_at is not None and (
            not isinstance(signed_at, int) or isinstance(signed_at, bool)
        ):
            raise certs.VerificationError("the acceptance's signed time is not a number")
        at = None if signed_at is None else int(signed_at)
        certs.verify_acceptance(
            self._sig_keys[seg], b64.decode(self.conv), seg, self.keys[seg], b64.decode(sig), at
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
        frame: dict[str, Any] = {
            "type": "join",
            "triage": {"language": language, "kind": kind, "danger_now": danger_now},
        }
        if self.sig_key is not None:
            frame["sig_key"] = b64.encode(sign.public_key_bytes(self.sig_key))
        await self.send(frame)
        ticket = await self.expect("ticket")
        self.ticket = str(ticket["ticket"])
        return self.ticket

    def signed(self, envelope: Envelope) -> Envelope:
        """``envelope`` with this client's signature (unchanged without a key or if signed)."""
        if self.sig_key is None or envelope.sig is not None or envelope.role != "Y":
            return envelope
        raw = youthsig.sign_envelope(
            self.sig_key,
            b64.decode(envelope.conv),
            envelope.seg,
            b64.decode(envelope.inst),
            envelope.seq,
            b64.decode(envelope.ct),
        )
        return dataclasses.replace(envelope, sig=b64.encode(raw))

    async def send_envelope(self, envelope: Envelope) -> None:
        """Sign (PROTOCOL.md §6.7) and send ``envelope``, kept until its own ack arrives."""
        await super().send_envelope(self.signed(envelope))

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
