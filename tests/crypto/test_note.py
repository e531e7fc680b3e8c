"""The handoff note of PROTOCOL.md §7.1 in Python (the browser twin is checked against this in
tests/e2e/test_transfers.py)."""

from __future__ import annotations

import os

import pytest

from app.crypto import hpke, note
from app.crypto.message import MessageError, encode_body, pad


def test_a_note_opens_only_for_its_conversation_and_device() -> None:
    device = hpke.generate_private_key()
    conv, device_id = os.urandom(16), os.urandom(16)
    sealed = note.seal_note(
        hpke.public_key_bytes(device), "ring henne på arabiska ✓", conv, device_id
    )
    assert (len(sealed) - 65 - 16) % 256 == 0  # padded like a message
    assert note.open_note(device, sealed, conv, device_id) == "ring henne på arabiska ✓"
    for other_conv, other_device in ((os.urandom(16), device_id), (conv, os.urandom(16))):
        with pytest.raises(hpke.HpkeError):
            note.open_note(device, sealed, other_conv, other_device)
    with pytest.raises(hpke.HpkeError):
        note.open_note(hpke.generate_private_key(), sealed, conv, device_id)
    with pytest.raises(hpke.HpkeError):
        note.open_note(device, sealed[:-1], conv, device_id)


def test_a_sealed_message_body_is_not_a_note() -> None:
    device = hpke.generate_private_key()
    conv, device_id = os.urandom(16), os.urandom(16)
    sealed = hpke.seal(
        hpke.public_key_bytes(device),
        note.note_info(conv, device_id),
        b"",
        pad(encode_body({"type": "text", "body": "x"})),
    )
    with pytest.raises(MessageError):
        note.open_note(device, sealed, conv, device_id)
    with pytest.raises(ValueError, match="16 bytes"):
        note.note_info(b"short", device_id)
