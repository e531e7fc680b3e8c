"""Sealed keys as a young person's client submits them (CRYPTO.md §3, §5, §6), pure.

``Keys``: a segment key sealed to the counsellor's device and the period key; ``ReturnCode``: a
segment key wrapped under a return-code KEK; ``ShareHistory``: earlier segments' keys sealed to
the current counsellor's device. ``app.chat.segments`` files them; ``app.relay.protocol`` parses
them from frames. The server checks their shape and who may send them, never their cryptography.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """The young person's segment key sealed to the counsellor's device and the period key."""

    conv: str
    seg: int
    wrap_c: str
    wrap_o: str | None


@dataclass(frozen=True, slots=True)
class ReturnCode:
    """A segment key wrapped under a return-code KEK, filed under the code's locator."""

    conv: str
    seg: int
    locator: str
    salt: str
    nonce: str
    wrap: str


@dataclass(frozen=True, slots=True)
class SharedSegment:
    conv: str  # the earlier conversation
    seg: int
    wrap: str  # its K sealed to the current counsellor's device


@dataclass(frozen=True, slots=True)
class ShareHistory:
    """A returning young person lets the current counsellor read earlier conversations."""

    conv: str
    seg: int  # the current segment, whose device the wraps are sealed to
    #: The return code's locator; None when only earlier segments of this chat are shared.
    locator: str | None
    segments: tuple[SharedSegment, ...]
