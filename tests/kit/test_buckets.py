"""Rate-limit buckets: which address counts, and that it is never kept in the clear."""

from __future__ import annotations

from app.kit.buckets import bucket, client_address

PROXY = "10.0.0.2"


def test_direct_clients_are_their_peer_address_and_cannot_forge_one() -> None:
    """R-18: Direct clients are their peer address and cannot forge one."""
    assert client_address("203.0.113.7", None, []) == "203.0.113.7"
    assert client_address("203.0.113.7", "198.51.100.1", []) == "203.0.113.7"
    assert client_address("203.0.113.7", "198.51.100.1", [PROXY]) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_counts() -> None:
    """R-18: Behind a trusted proxy the nearest untrusted hop counts."""
    assert client_address(PROXY, "198.51.100.1", [PROXY]) == "198.51.100.1"
    # A client may prepend anything; only the hop our proxy appended is believed.
    assert client_address(PROXY, "1.2.3.4, 198.51.100.1", [PROXY]) == "198.51.100.1"
    assert client_address(PROXY, "198.51.100.1, 10.0.0.3", [PROXY, "10.0.0.3"]) == "198.51.100.1"
    assert client_address(PROXY, "", [PROXY]) == PROXY


def test_buckets_are_keyed_hashes() -> None:
    secret, other = b"s" * 32, b"t" * 32
    assert bucket(secret, "198.51.100.1") == bucket(secret, "198.51.100.1")
    assert bucket(secret, "198.51.100.1") != bucket(secret, "198.51.100.2")
    assert bucket(secret, "198.51.100.1") != bucket(other, "198.51.100.1")
    assert "198.51.100.1" not in bucket(secret, "198.51.100.1")
