"""Close categories over the staff socket (issue 11): counted as anonymous cells when the chat
closes, checked against the centre's vocabulary, refused from young people; and the rules."""

from __future__ import annotations

import pytest

from app.supervision import closetags
from app.supervision.closetags import BadTags, CloseTags
from tests.conftest import Server
from tests.expiry.world import rows
from tests.support import Harness, call, new_staff, shared_server, staff_login, unique_language

server = shared_server()


async def test_tags_are_counted_when_the_chat_closes(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        staff, _ = await h.console(await new_staff(server, languages=[language]))
        await staff.duty(True)
        youth, conv = await h.pair(staff, language)

        await staff.send({"type": "close", "conv": conv, "tags": {"outcome": "nonsense"}})
        assert (await staff.expect("error"))["code"] == "bad_tags"
        await staff.send({"type": "close", "conv": conv, "tags": {"referrals": ["none", "police"]}})
        assert (await staff.expect("error"))["code"] == "bad_tags"
        await staff.send({"type": "close", "conv": conv, "tags": {"topic": "x", "extra": 1}})
        assert (await staff.expect("error"))["code"] == "bad_frame"
        await youth.send({"type": "close", "tags": {"outcome": "other"}})
        assert (await youth.expect("error"))["code"] == "bad_frame"
        # None of those closed it.
        assert (await rows(server, "SELECT status FROM conversations WHERE id = :c", c=conv)) == [
            ("open",)
        ]
        tags = {"topic": "control", "outcome": "safety_plan", "referrals": ["police", "school"]}
        await staff.send({"type": "close", "conv": conv, "tags": tags})
        assert (await youth.expect("closed"))["by"] == "counsellor"

    cells = await rows(server, "SELECT queue, dimension, value, count FROM close_stats")
    assert sorted(cells) == [
        ("youth", "outcome", "safety_plan", 1),
        ("youth", "referral", "police", 1),
        ("youth", "referral", "school", 1),
        ("youth", "topic", "control", 1),
    ]
    assert conv not in str(await rows(server, "SELECT * FROM close_stats"))


async def test_the_vocabulary_is_for_staff(server: Server) -> None:
    status, body = await call(server, "GET", "/staff/api/close-tags")
    assert status == 401, body
    creds = await staff_login(server, await new_staff(server))
    status, body = await call(server, "GET", "/staff/api/close-tags", None, creds)
    assert status == 200
    assert {t["id"] for t in body["topics"]} >= {"control", "forced_marriage"}
    assert [r["id"] for r in body["referrals"]] == list(closetags.REFERRALS)
    assert [o["id"] for o in body["outcomes"]] == list(closetags.OUTCOMES)


def test_the_rules_of_tags() -> None:
    topics = {"control"}
    assert closetags.check(CloseTags(), topics).cells() == []
    checked = closetags.check(CloseTags("control", "other", ("school", "police", "school")), topics)
    assert checked.referrals == ("police", "school")
    assert checked.cells() == [
        ("topic", "control"),
        ("outcome", "other"),
        ("referral", "police"),
        ("referral", "school"),
    ]
    for bad in (
        CloseTags(topic="unknown"),
        CloseTags(outcome="unknown"),
        CloseTags(referrals=("unknown",)),
        CloseTags(referrals=("none", "school")),
    ):
        with pytest.raises(BadTags):
            closetags.check(bad, topics)
