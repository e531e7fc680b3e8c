"""Client buckets for rate limits: keyed hashes of network addresses, kept in memory only (S-15)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection


def client_address(peer: str, forwarded_for: str | None, trusted_proxies: Collection[str]) -> str:
    """The client's address: behind a trusted proxy, the nearest untrusted X-Forwarded-For hop.

    From any other peer the header is ignored, so a client cannot choose its own bucket (R-18).
    """
    if peer not in trusted_proxies or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    return next((hop for hop in reversed(hops) if hop and hop not in trusted_proxies), peer)


def bucket(secret: bytes, address: str) -> str:
    """A keyed hash of an address: equal addresses share a bucket; the address is not kept."""
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()[:32]
