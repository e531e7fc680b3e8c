"""The console's pure rules (frontend/static/js/staff/labels.js) run in Chromium: labels from
the conversation id alone, the chat list's order, times for people, the title badge."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from app.kit import b64
from tests.conftest import Server
from tests.e2e.conftest import Contexts

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

SCRIPT = """
async (convs) => {
  const r = await import("/static/js/staff/labels.js");
  const at = (h, m) => new Date(2026, 11, 1, h, m, 30).getTime();
  return {
    labels: convs.map((c) => r.labelOf(c)),
    again: convs.map((c) => r.labelOf(c)),
    long: convs.map((c) => r.labelOf(c, true)),
    set: Object.fromEntries(r.labelsOf(convs)),
    clash: Object.fromEntries(r.labelsOf(["AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAQ",
                                         "AAEAAAAAAAAAAAAAAAAAAA"])),
    order: r.orderChats([
      {conv: "a", label: "B2", open: true, urgent: false, since: 1},
      {conv: "b", label: "C3", open: false, urgent: true, since: 0},
      {conv: "c", label: "D4", open: true, urgent: true, since: 5},
      {conv: "d", label: "E5", open: true, urgent: false, since: 3},
      {conv: "e", label: "A2", open: true, urgent: true, since: 5},
    ]).map((i) => i.conv),
    clock: [r.clockTime(at(9, 5)), r.clockTime(at(23, 59))],
    ago: [r.ago(0), r.ago(59), r.ago(60), r.ago(725), r.ago(3900)],
    span: [r.span(45), r.span(245), r.span(3729)],
    badge: [r.badgeTitle("Console", 0), r.badgeTitle("Console", 2)],
  };
}
"""


def test_labels_order_and_times(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    response = page.goto(server.base_url + "/staff")
    # The console's opt-in desktop notification is not forbidden by the headers (issue 11).
    assert response is not None
    policy = response.headers["permissions-policy"]
    assert "camera=()" in policy
    assert "notifications" not in policy
    convs = [b64.encode(secrets.token_bytes(16)) for _ in range(40)]
    out: dict[str, Any] = page.evaluate(SCRIPT, convs)
    # Two characters from the id alone, the same every time, without I, O, 0 or 1.
    assert out["labels"] == out["again"]
    for label, long in zip(out["labels"], out["long"], strict=True):
        assert len(label) == 2
        assert long.startswith(label)
        assert len(long) == 3
        assert not set(long) & set("IO01")
    # A set of chats lengthens only the labels that collide.
    short_counts = {lbl: out["labels"].count(lbl) for lbl in out["labels"]}
    for conv, label in zip(convs, out["labels"], strict=True):
        assert len(out["set"][conv]) == (3 if short_counts[label] > 1 else 2)
    # First two bytes equal (0, 0): same short label; the third byte tells them apart.
    assert out["clash"] == {
        "AAAAAAAAAAAAAAAAAAAAAA": "A2A",
        "AAAAAAAAAAAAAAAAAAAAAQ": "A2A",
        "AAEAAAAAAAAAAAAAAAAAAA": "A3",
    }
    # Open before ended; urgent first; then oldest; then label.
    assert out["order"] == ["e", "c", "a", "d", "b"]
    assert out["clock"] == ["09:05", "23:59"]
    assert out["ago"] == ["just now", "just now", "1 min ago", "12 min ago", "1 h 05 min ago"]
    assert out["span"] == ["45 s", "4:05", "1:02:09"]
    assert out["badge"] == ["Console", "(2) Console"]
