"""Retention: the purge, deleting a conversation now, and their endpoints and command."""
