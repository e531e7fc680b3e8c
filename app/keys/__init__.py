"""The service signing key and the organisation's period keys (CRYPTO.md §2, §6)."""
