"""Field checks shared by the frame parsers (``protocol``, ``keyframes``), pure."""

from __future__ import annotations

from typing import Any

from app.chat.envelope import U32_MAX
from app.kit.b64 import is_b64url
from app.kit.errors import ProtocolError


def conv_field(obj: dict[str, Any], *, required: bool) -> str | None:
    conv = obj.get("conv")
    if conv is None and not required:
        return None
    if not isinstance(conv, str) or not is_b64url(conv, nbytes=16):
        raise ProtocolError("bad_frame", "conv must be 16 bytes of base64url")
    return conv


def seg_field(obj: dict[str, Any], code: str = "bad_keys") -> int:
    seg = obj.get("seg")
    if not isinstance(seg, int) or isinstance(seg, bool) or not 0 <= seg <= U32_MAX:
        raise ProtocolError(code, "seg must be a u32")
    return seg


def bytes_field(obj: dict[str, Any], name: str, nbytes: int, code: str = "bad_keys") -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not is_b64url(value, nbytes=nbytes):
        raise ProtocolError(code, f"{name} must be {nbytes} bytes of base64url")
    return value
