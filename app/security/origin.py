"""Origin checks for WebSocket upgrades and state-changing requests (SECURITY R-1, R-11)."""

from __future__ import annotations

from collections.abc import Iterable


def origin_allowed(origin: str | None, allowed: Iterable[str], host: str | None) -> bool:
    """True when ``origin`` is in the allowlist, or (no allowlist configured) is the request's host.

    A missing Origin is refused: browsers always send one on WebSocket upgrades; scripts must
    set it explicitly.
    """
    if not origin:
        return False
    allowed = [a.rstrip("/") for a in allowed]
    if allowed:
        return origin.rstrip("/") in allowed
    if host is None:
        return False
    return origin in (f"http://{host}", f"https://{host}")
