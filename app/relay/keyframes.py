"""The sealed-key frames a client sends (CRYPTO.md §3, §5; PROTOCOL.md §6), pure.

Part of ``protocol``, which re-exports these and dispatches to the parsers by frame type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from app.chat.wraps import Keys, ReturnCode, SharedSegment, ShareHistory
from app.crypto import transcript
from app.kit.errors import ProtocolError
from app.relay.fields import bytes_field, conv_field, seg_field

#: HPKE ``enc (65) ‖ AES-256-GCM(K (32)) ‖ tag (16)``: a sealed segment key (CRYPTO.md §8).
SEALED_KEY_BYTES: Final = 65 + 32 + 16
SIGNATURE_BYTES: Final = 64


@dataclass(frozen=True, slots=True)
class Accept:
    """The counsellor device's acceptance signature of a segment (CRYPTO.md §3)."""

    conv: str
    seg: int
    sig: str
    #: The device's clock signed into a timed acceptance (unix seconds); ``None``: untimed.
    signed_at: int | None = None


@dataclass(frozen=True, slots=True)
class TranscriptSig:
    """A counsellor device's signature over the envelopes it holds of one segment (issue 13
    (5)): ``covers`` is the validated list as compact JSON, stored and relayed as it came."""

    conv: str
    seg: int
    n: int
    digest: str
    sig: str
    covers: str


#: Most earlier segments one ``share_history`` frame may carry.
HISTORY_SEGMENTS_MAX: Final = 64


def parse_keys(obj: dict[str, Any]) -> Keys:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    wrap_o = None
    if obj.get("wrap_o") is not None:
        wrap_o = bytes_field(obj, "wrap_o", SEALED_KEY_BYTES)
    return Keys(
        conv=conv,
        seg=seg_field(obj),
        wrap_c=bytes_field(obj, "wrap_c", SEALED_KEY_BYTES),
        wrap_o=wrap_o,
    )


def parse_accept(obj: dict[str, Any]) -> Accept:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    return Accept(
        conv=conv,
        seg=seg_field(obj, "bad_frame"),
        sig=bytes_field(obj, "sig", SIGNATURE_BYTES, "bad_frame"),
        signed_at=_signed_at(obj),
    )


MAX_SIGNED_AT = 2**53 - 1
"""The largest signed time a frame may carry: what JSON numbers hold exactly in a browser."""


def _signed_at(obj: dict[str, Any]) -> int | None:
    """``signed_at`` of a timed acceptance: absent or null (untimed), else a whole number of
    seconds (the server checks the shape; the reader checks the time against the certificate)."""
    value = obj.get("signed_at")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SIGNED_AT:
        raise ProtocolError("bad_frame", "signed_at must be whole unix seconds")
    return value


def parse_return_code(obj: dict[str, Any]) -> ReturnCode:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    return ReturnCode(
        conv=conv,
        seg=seg_field(obj),
        locator=bytes_field(obj, "locator", 16),
        salt=bytes_field(obj, "salt", 16),
        nonce=bytes_field(obj, "nonce", 12),
        wrap=bytes_field(obj, "wrap", 32 + 16),
    )


def parse_share_history(obj: dict[str, Any]) -> ShareHistory:
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    items = obj.get("segments")
    if not isinstance(items, list) or not 1 <= len(items) <= HISTORY_SEGMENTS_MAX:
        raise ProtocolError("bad_keys", "segments is a list of 1 to 64 earlier segments")
    shared = []
    for item in items:
        if not isinstance(item, dict):
            raise ProtocolError("bad_keys", "an earlier segment is an object")
        earlier = conv_field(item, required=True)
        assert earlier is not None  # noqa: S101 - required=True
        shared.append(
            SharedSegment(
                conv=earlier,
                seg=seg_field(item),
                wrap=bytes_field(item, "wrap", SEALED_KEY_BYTES),
            )
        )
    locator = None if obj.get("locator") is None else bytes_field(obj, "locator", 16)
    return ShareHistory(conv=conv, seg=seg_field(obj), locator=locator, segments=tuple(shared))


def parse_transcript_sig(obj: dict[str, Any]) -> TranscriptSig:
    """Shapes only (the server cannot check the signature against envelopes it never opens):
    ``n`` a u32 equal to the number of envelopes ``covers`` names (``transcript.parse_covers``:
    bounded, canonical ranges), a 32-byte digest and a 64-byte signature."""
    conv = conv_field(obj, required=True)
    assert conv is not None  # noqa: S101 - required=True
    n = obj.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= transcript.MAX_COVERED:
        raise ProtocolError("bad_frame", "n must be the number of envelopes signed")
    raw = obj.get("covers")
    try:
        covered = transcript.parse_covers(raw)
    except ValueError as exc:
        raise ProtocolError("bad_frame", f"covers: {exc}") from None
    if len(covered) != n:
        raise ProtocolError("bad_frame", "n must be the number of envelopes covers names")
    return TranscriptSig(
        conv=conv,
        seg=seg_field(obj, "bad_frame"),
        n=n,
        digest=bytes_field(obj, "digest", transcript.DIGEST_BYTES, "bad_frame"),
        sig=bytes_field(obj, "sig", SIGNATURE_BYTES, "bad_frame"),
        covers=json.dumps(raw, separators=(",", ":")),
    )
