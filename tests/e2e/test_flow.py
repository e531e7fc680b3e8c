"""The young person's chat flow with no dead ends (issue 12 §3) in Chromium, in Swedish and in
Arabic (right to left), with the Python reference counsellor on the other side: the house page,
triage (no pre-set danger answer), waiting (a live region), the chat (connection state, typing,
a delivered mark per message, "End chat" asked first), the end (the header says it ended, the
box goes) and after it (feedback, "Start a new chat", "Clear this screen"). axe runs on every
state; nothing is left on the device and nothing goes to another origin (the ``contexts``
fixture checks every request). The feedback endpoint is answered by ``page.route`` here (the
server side is another change)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, login
from app.kit.ids import token_digest
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import Contexts, staff_account
from tests.expiry.world import rows

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], None]

TRACES = """
async () => ({
  cookie: document.cookie,
  local: localStorage.length,
  session: sessionStorage.length,
  idb: (await indexedDB.databases()).length,
  caches: (await caches.keys()).length,
  workers: (await navigator.serviceWorker.getRegistrations()).length,
})
"""
CLEAN = {"cookie": "", "local": 0, "session": 0, "idb": 0, "caches": 0, "workers": 0}

#: What the page says in each language.
WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "house_link": "Chatta med en kurator",
        "start": "Starta chatten",
        "no": "Nej",
        "yes": "Ja",
        "answer_danger": "Svara på den här frågan: är du i fara just nu?",
        "queue": "Du är nummer 1 i kön",
        "connected": "Ansluten. Du pratar med Layla.",
        "typing": "Layla skriver…",
        "box": "Meddelande",
        "send": "Skicka",
        "delivered": "Levererat",
        "end": "Avsluta chatten",
        "end_question": "Avsluta chatten?",
        "keep": "Fortsätt chatta",
        "yes_end": "Ja, avsluta chatten",
        "ended": "Chatten har avslutats.",
        "after": "Chatten har avslutats",
        "partly": "Delvis",
        "send_answer": "Skicka mitt svar",
        "thanks": "Tack. Ditt svar har skickats.",
        "new": "Starta en ny chatt",
        "clear": "Töm skärmen",
        "cleared": "Skärmen är tom.",
        "mine": "Hej, jag behöver prata med någon.",
    },
    "ar": {
        "house_link": "تحدّث مع مرشد",
        "start": "ابدأ المحادثة",
        "no": "لا",
        "yes": "نعم",
        "answer_danger": "يرجى الإجابة عن هذا السؤال: هل أنت في خطر الآن؟",
        "queue": "أنت رقم 1 في قائمة الانتظار",
        "connected": "تم الاتصال. أنت تتحدث مع Layla.",
        "typing": "Layla",
        "box": "الرسالة",
        "send": "إرسال",
        "delivered": "تم التسليم",
        "end": "إنهاء المحادثة",
        "end_question": "هل تريد إنهاء المحادثة؟",
        "keep": "تابع المحادثة",
        "yes_end": "نعم، أنهِ المحادثة",
        "ended": "انتهت المحادثة.",
        "after": "انتهت المحادثة",
        "partly": "جزئيًا",
        "send_answer": "أرسل إجابتي",
        "thanks": "شكرًا لك. تم إرسال إجابتك.",
        "new": "ابدأ محادثة جديدة",
        "clear": "امسح هذه الشاشة",
        "cleared": "هذه الشاشة فارغة.",
        "mine": "مرحبا، أحتاج إلى التحدث مع أحد.",
    },
}
REPLY = "Hej, jag heter Layla. مرحبا"


async def _counsellor(server: Server, account: StaffAccount) -> dict[str, Any]:
    """The Python counsellor: on duty, takes the chat, waits for the young person's first
    message, says it is typing, replies, and returns the ``closed`` frame it gets."""
    base_url = server.base_url
    credentials = await asyncio.to_thread(
        login, base_url, account.username, account.password, account.code()
    )
    code = await _enrol_code(server.database, account.staff_id)
    staff = CounsellorClient(base_url, enrol_code=code)
    await staff.connect(credentials)
    try:
        await staff.duty(True)
        conv = str((await staff.wait_assigned(timeout=30))["conv"])
        key = await staff.wait_keys(conv, timeout=30)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not any(e.role == "Y" for e in staff.envelopes) and loop.time() < deadline:
            staff.inbox.append(await staff.recv(max(0.01, deadline - loop.time())))
        await staff.send({"type": "typing", "conv": conv, "typing": True})
        await asyncio.sleep(2.0)  # long enough to be seen before the reply clears it
        await staff.send_envelope(staff.senders[conv].text_envelope(key, REPLY))
        return await staff.expect("closed", timeout=60)
    finally:
        await staff.close()


def _tickets(page: Any) -> list[str]:
    found: list[str] = []

    def on_socket(ws: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"type":"ticket"' in payload:
                found.append(json.loads(payload)["ticket"])

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return found


def _feedback_route(page: Any) -> list[dict[str, Any]]:
    """Answer POST /api/youth/feedback as its contract says (204, then 409 for a repeat)."""
    posted: list[dict[str, Any]] = []

    def answer(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        posted.append(body)
        if len(posted) > 1:
            error = {"error": {"code": "already_answered", "message": "answered"}}
            route.fulfill(status=409, content_type="application/json", body=json.dumps(error))
        else:
            route.fulfill(status=204, body="")

    page.route("**/api/youth/feedback", answer)
    return posted


@pytest.mark.parametrize(("lang", "direction"), [("sv", "ltr"), ("ar", "rtl")])
def test_the_whole_flow_from_the_house_to_a_new_chat(
    contexts: Contexts, server: Server, in_thread: Any, shot: Shot, lang: str, direction: str
) -> None:
    words = WORDS[lang]
    counsellor = staff_account(server, f"layla-{lang}", "Layla", languages=["ar", "sv"])
    youth = contexts.page()
    youth.set_viewport_size({"width": 360, "height": 640})
    tickets = _tickets(youth)
    posted = _feedback_route(youth)

    youth.goto(server.base_url + f"/{lang}/")
    expect(youth.locator("html")).to_have_attribute("dir", direction)
    youth.locator("main").get_by_role("link", name=words["house_link"]).click()
    expect(youth).to_have_url(server.base_url + f"/{lang}/chat")
    marker = youth.evaluate("() => (window.vhMarker = Math.random())")  # gone on a reload

    # Triage: "in danger?" has no answer until one is given, and the form asks for it.
    danger_no = youth.locator("#danger-no")
    expect(danger_no).not_to_be_checked()
    expect(youth.locator("#danger-yes")).not_to_be_checked()
    youth.get_by_role("button", name=words["start"]).click()
    error = youth.locator("[data-danger-error]")
    expect(error).to_have_text(words["answer_danger"])
    expect(error).to_have_attribute("role", "alert")
    expect(danger_no).to_be_focused()
    expect(danger_no).to_have_attribute("aria-invalid", "true")
    assert tickets == []  # nothing was sent
    shot(youth, "1-triage-unanswered")
    assert_accessible(youth, f"triage unanswered, {lang}")
    danger_no.check()
    expect(error).to_be_empty()

    # Waiting: position and estimate in one live region, what happens next, a way out.
    youth.get_by_role("button", name=words["start"]).click()
    live = youth.locator("[data-queue-live]")
    expect(live).to_have_attribute("role", "status")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live.locator("[data-queue-status]")).to_contain_text(words["queue"])
    expect(live.locator("[data-queue-estimate]")).not_to_be_empty()
    expect(youth.locator("[data-queue] .next-steps li")).to_have_count(3)
    expect(youth.locator("[data-leave-queue]")).to_be_visible()
    shot(youth, "2-waiting")
    assert_accessible(youth, f"waiting, {lang}")

    # The chat: connected, typing, a delivered mark per own message.
    closed = in_thread(_counsellor, server, counsellor)
    expect(youth.get_by_text(words["connected"])).to_be_visible(timeout=30_000)
    box = youth.get_by_role("textbox", name=words["box"])
    expect(box).to_be_enabled()
    box.fill(words["mine"])
    youth.get_by_role("button", name=words["send"]).click()
    own = youth.locator("[role=log] .message-own").first
    expect(youth.locator("[data-chat-status]")).to_contain_text(words["typing"])
    expect(own.locator("[data-delivery]")).to_have_text(words["delivered"])
    expect(own.locator("[data-delivery]")).to_have_attribute("data-delivery", "delivered")
    expect(youth.locator("[role=log] .message-other .message-body")).to_have_text([REPLY])
    expect(youth.locator("[data-chat-status]")).to_be_empty()  # the message came
    shot(youth, "3-chat")
    assert_accessible(youth, f"chat, {lang}")

    # "End chat" asks first; keeping the chat changes nothing.
    youth.get_by_role("button", name=words["end"]).click()
    question = youth.get_by_role("group", name=words["end_question"])
    expect(question).to_be_visible()
    expect(question.get_by_role("button", name=words["keep"])).to_be_focused()
    shot(youth, "4-end-question")
    assert_accessible(youth, f"end question, {lang}")
    question.get_by_role("button", name=words["keep"]).click()
    expect(question).to_be_hidden()
    expect(box).to_be_enabled()
    youth.get_by_role("button", name=words["end"]).click()
    question.get_by_role("button", name=words["yes_end"]).click()

    # Ended: the header says so, the box is gone, the after-chat screen has the focus.
    expect(youth.locator("[data-chat-with]")).to_have_text(words["ended"])
    expect(youth.locator("[data-compose]")).to_be_hidden()
    after = youth.get_by_role("region", name=words["after"])
    expect(after).to_be_focused()
    # No code was taken: one is still offered for a few minutes (tests/e2e/test_late_code.py).
    expect(after.locator("[data-after-late-code]")).to_be_visible()
    expect(after.locator("[data-after-code-missing]")).to_be_hidden()
    assert closed.result(timeout=30)["by"] == "youth"
    shot(youth, "5-ended")
    assert_accessible(youth, f"ended, {lang}")

    # One optional question; the answer goes with the ticket only.
    after.get_by_label(words["partly"]).check()
    after.get_by_role("button", name=words["send_answer"]).click()
    expect(after.locator("[data-feedback-status]")).to_have_text(words["thanks"])
    expect(after.locator("[data-feedback]")).to_be_hidden()
    assert len(tickets) == 1
    assert posted == [{"ticket": tickets[0], "answer": "partly"}]
    shot(youth, "6-after-feedback")
    assert_accessible(youth, f"after the chat, {lang}")

    # Nothing on the device after a whole chat.
    assert youth.context.cookies() == []
    assert youth.evaluate(TRACES) == CLEAN

    # A new chat: the questions again in place, nothing of the old chat in the DOM.
    after.get_by_role("button", name=words["new"]).click()
    expect(youth.locator("[data-triage]")).to_be_visible()
    expect(youth.locator("#triage-title")).to_be_focused()
    expect(danger_no).not_to_be_checked()
    expect(youth.locator("[data-message]")).to_have_count(0)
    assert words["mine"] not in youth.content()
    assert REPLY not in youth.content()
    expect(youth.locator("[data-after-chat]")).to_be_hidden()
    assert youth.evaluate("() => window.vhMarker") == marker  # no reload
    danger_no.check()
    youth.get_by_role("button", name=words["start"]).click()
    # (Layla's client has gone, but she may count as on duty until the sweep: the new ticket
    # may be paired with her at once, so only the ticket is checked here.)
    youth.wait_for_function("() => document.querySelector('[data-triage]').hidden")
    youth.wait_for_timeout(500)
    assert len(tickets) == 2
    assert tickets[1] != tickets[0]  # a fresh ticket
    assert youth.evaluate(TRACES) == CLEAN


def test_clear_this_screen_leaves_a_neutral_line(
    contexts: Contexts, server: Server, in_thread: Any, shot: Shot
) -> None:
    words = WORDS["sv"]
    counsellor = staff_account(server, "layla", "Layla", languages=["ar", "sv"])
    youth = contexts.page()
    youth.goto(server.base_url + "/sv/chat")
    youth.locator("#danger-no").check()
    youth.get_by_role("button", name=words["start"]).click()
    closed = in_thread(_counsellor, server, counsellor)
    expect(youth.get_by_text(words["connected"])).to_be_visible(timeout=30_000)
    youth.get_by_role("button", name="Få en återkomstkod").click()
    code = youth.locator("[data-return-code-value]").inner_text()
    assert code
    youth.get_by_role("textbox", name=words["box"]).fill(words["mine"])
    youth.get_by_role("button", name=words["send"]).click()
    expect(youth.locator("[role=log] .message-other")).to_have_count(1)
    youth.get_by_role("button", name=words["end"]).click()
    # A code was taken: the question does not offer another.
    expect(youth.locator("[data-end-code]")).to_be_hidden()
    youth.get_by_role("button", name=words["yes_end"]).click()
    after = youth.get_by_role("region", name=words["after"])
    expect(after.locator("[data-after-code-taken]")).to_be_visible()
    closed.result(timeout=30)
    # The answer goes to the real endpoint here (POST /api/youth/feedback, 204).
    after.get_by_label(words["partly"]).check()
    after.get_by_role("button", name=words["send_answer"]).click()
    expect(after.locator("[data-feedback-status]")).to_have_text(words["thanks"])

    after.get_by_role("button", name=words["clear"]).click()
    cleared = youth.locator("[data-cleared]")
    expect(cleared).to_be_visible()
    expect(cleared).to_be_focused()
    expect(cleared).to_contain_text(words["cleared"])
    expect(youth.locator("[data-message]")).to_have_count(0)
    html = youth.content()
    assert words["mine"] not in html
    assert REPLY not in html
    assert code not in html
    assert code.replace("-", "") not in html
    shot(youth, "cleared")
    assert_accessible(youth, "cleared screen, sv")
    cleared.get_by_role("button", name=words["new"]).click()
    expect(youth.locator("[data-triage]")).to_be_visible()


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_danger_yes_shows_112_and_queues_as_urgent(
    contexts: Contexts, server: Server, in_thread: Any, shot: Shot, lang: str
) -> None:
    words = WORDS[lang]
    youth = contexts.page()
    youth.set_viewport_size({"width": 360, "height": 640})
    tickets = _tickets(youth)
    youth.goto(server.base_url + f"/{lang}/chat")
    emergency = youth.locator("[data-emergency]")
    expect(emergency).to_be_hidden()
    youth.locator("#danger-yes").check()
    expect(emergency).to_be_visible()
    expect(emergency.get_by_role("link", name="112")).to_have_attribute("href", "tel:112")
    expect(emergency).to_contain_text(words["start"])  # they may still queue
    shot(youth, "danger-yes")
    assert_accessible(youth, f"danger yes, {lang}")
    youth.get_by_role("button", name=words["start"]).click()
    expect(youth.locator("[data-queue-status]")).to_contain_text(words["queue"])
    assert len(tickets) == 1
    query = "SELECT urgent FROM tickets WHERE token_digest = :digest"
    digest = token_digest(tickets[0])
    found = in_thread(lambda: rows(server, query, digest=digest)).result(timeout=20)
    assert [bool(r[0]) for r in found] == [True]


PLURALS = """async (counts) => {
  const { undeliveredText } = await import("/static/js/chat/delivery.js");
  return counts.map((n) => undeliveredText(n));
}"""


def test_undelivered_counts_use_every_plural_form_of_the_language(
    contexts: Contexts, server: Server
) -> None:
    """ngettext (js/i18n.js) picks the form by the catalog's own rule: Arabic's six forms."""
    page = contexts.page()
    page.goto(server.base_url + "/ar/chat")
    assert page.evaluate(PLURALS, [1, 2, 3, 11, 100]) == [
        "تعذّر تسليم رسالة واحدة.",
        "تعذّر تسليم رسالتين.",
        "تعذّر تسليم 3 رسائل.",
        "تعذّر تسليم 11 رسالة.",
        "تعذّر تسليم 100 رسالة.",
    ]
    page.goto(server.base_url + "/sv/chat")
    assert page.evaluate(PLURALS, [0, 1, 2]) == [
        None,
        "1 meddelande kunde inte levereras.",
        "2 meddelanden kunde inte levereras.",
    ]
    page.goto(server.base_url + "/en/chat")
    assert page.evaluate(PLURALS, [1, 5]) == [
        "1 message could not be delivered.",
        "5 messages could not be delivered.",
    ]
