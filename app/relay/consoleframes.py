"""The frames a console's socket gets of its own (docs/PROTOCOL.md §2.2, §7): ``hello``,
``assigned``, ``duty``, ``device_added`` and ``open_chats``. Pure, like ``frames``, whose
encoding they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.events import messages
from app.relay.frames import Segment, dumps


def console_conversation(
    conv: str,
    kind: str,
    language: str,
    urgent: bool,
    segment: Segment | None,
    *,
    present: bool | None = None,
) -> dict[str, Any]:
    """An item of ``hello``'s ``conversations``, and the body of ``assigned``: the conversation
    and its current segment's ``seg``, ``device``, ``wrap`` and ``accepted`` (bool), if any;
    ``present`` (in ``hello``): whether the young person's connection is there now."""
    body: dict[str, Any] = {"conv": conv, "kind": kind, "language": language, "urgent": urgent}
    if present is not None:
        body["present"] = present
    if segment is not None:
        body["seg"] = segment.seg
        body["device"] = segment.device.device_id
        body["wrap"] = segment.wrap_c
        body["accepted"] = segment.accept_sig is not None
        body["youth_key"] = segment.youth_key  # §6.7: the console checks the page's signatures
    return body


def hello(
    alias: str,
    role: str,
    *,
    on_duty: bool,
    device: str | None,
    conversations: Sequence[Mapping[str, Any]],
) -> str:
    """``{"type":"hello","staff":{"alias","role"},"on_duty","device","conversations":[…]}``: the
    first frame of a console socket; ``conversations`` from ``console_conversation``."""
    return dumps(
        {
            "type": "hello",
            "staff": {"alias": alias, "role": role},
            "on_duty": on_duty,
            "device": device,
            "conversations": list(conversations),
        }
    )


def assigned(message: messages.Assigned, segment: Segment | None) -> str:
    """``{"type":"assigned","conv","kind","language","urgent"[,"seg","device","wrap","accepted"]}``:
    a new chat for this console; its stored envelopes follow."""
    m = message
    body = console_conversation(m.conv, m.kind, m.language, m.urgent, segment)
    return dumps({"type": "assigned", **body})


def duty(on: bool) -> str:
    """``{"type":"duty","on"}``: the account's shift started or ended (by any of its consoles)."""
    return dumps({"type": "duty", "on": on})


def device_added(device_id: str) -> str:
    """``{"type":"device_added","device_id"}``: a new device was certified for this account
    (issue 13 (1)); the console lists its devices again and warns if it is not this one."""
    return dumps({"type": "device_added", "device_id": device_id})


def open_chats(conversations: Sequence[str]) -> str:
    """``{"type":"open_chats","conversations":[…]}``: the answer to ``duty`` off while chats are
    still open."""
    return dumps({"type": "open_chats", "conversations": list(conversations)})
