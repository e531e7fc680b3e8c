"""Domain-free helpers: clock, ids, base64url, rate limiting primitives."""
