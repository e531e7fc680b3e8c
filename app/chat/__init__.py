"""Chat: frame protocol, relay endpoints, broker and the ciphertext store."""
