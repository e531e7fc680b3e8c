"""``consolewatch.lost_transfers``: the console's periodic check lets go of a chat whose
``Transferred`` the broker lost, from the stored rows alone (no server)."""

from __future__ import annotations

from app.chat.repository import ConversationInfo
from app.events import messages
from app.relay.consolewatch import lost_transfers


def _info(conv: str, status: str, staff_id: str = "me", alias: str = "Sara") -> ConversationInfo:
    return ConversationInfo(conv, 1, staff_id, alias, "youth", "sv", False, status)


def test_a_chat_back_in_a_queue_or_with_a_colleague_has_left_this_console() -> None:
    followed = [
        _info("q", "requeued"),
        _info("w", "open", staff_id="colleague", alias="Omar"),
        _info("mine", "open"),  # still this counsellor's: an assignment heard of late
        _info("c", "closed"),  # the link's own catch-up says "closed"
        None,  # deleted meanwhile: the link's catch-up says so too
    ]
    assert lost_transfers("me", followed) == [
        messages.Transferred("q", to=None, reason=None),
        messages.Transferred("w", to="Omar", reason="transfer"),
    ]


def test_nothing_followed_nothing_lost() -> None:
    assert lost_transfers("me", []) == []
