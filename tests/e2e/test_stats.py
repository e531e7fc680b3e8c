"""The statistics page and the audit-log view in Chromium (issue 11): a supervisor sees today
and the last 30 days as SVG charts with tables beside them (small cells never shown), filters
by queue, downloads the CSV (audited) and finds that download in the audit log, filtered by
action; a counsellor and an anonymous visitor are turned away; markup in an alias or an audit
detail shows as text; the after-chat feedback is shown suppressed. Screenshots go to
``artifacts/screenshots``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.audit import repository as audit_log
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import Database, Server
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import open_console
from tests.supervision.seeding import seed

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

XSS = '<img src=x onerror="alert(1)">'
DAY = 86400.0


async def _audit_with_markup(database: Database, staff_id: str) -> None:
    engine = make_engine(database.settings())
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await audit_log.audit(
                session,
                staff_id=staff_id,
                action="conversation.deleted",
                detail=json.dumps({"reason": XSS}),
                now=time.time(),
            )
    finally:
        await engine.dispose()


def _seed_month(in_thread: Any, server: Server) -> None:
    """Nine earlier days of chats in the general queue; today 8 served there (6 within 2
    minutes) and 5 left, 2 served and 1 left in ``youth/police``; close tags today."""
    now = time.time()
    for back in range(1, 10):
        waits = [20.0 * (i + 1) for i in range(5 + back % 4)]
        in_thread(
            partial(
                seed,
                server.database,
                skill=None,
                served_waits=waits,
                abandoned=back % 7,
                at=now - back * DAY,
            )
        ).result()
    in_thread(
        partial(
            seed,
            server.database,
            skill="police",
            served_waits=[30.0, 40.0],
            abandoned=1,
            tags={("outcome", "safety_plan"): 2},
        )
    ).result()
    in_thread(
        partial(
            seed,
            server.database,
            skill=None,
            served_waits=[15.0, 30.0, 45.0, 60.0, 90.0, 110.0, 150.0, 400.0],
            abandoned=5,
            tags={
                ("outcome", "safety_plan"): 9,
                ("outcome", "support_given"): 5,
                ("referral", "social_services"): 6,
                ("referral", "police"): 2,
                ("topic", "forced_marriage"): 12,
            },
            feedback={"yes": 6, "partly": 1},
        )
    ).result()
    in_thread(
        partial(
            seed, server.database, skill=None, served_waits=[], feedback={"no": 3}, at=now - DAY
        )
    ).result()


def test_a_supervisor_reads_the_statistics_and_the_audit_log(
    server: Server, contexts: Contexts, in_thread: Any, shot: Callable[[Any, str], None]
) -> None:
    supervisor = staff_account(server, "lena", "Lena", role="supervisor")
    counsellor = staff_account(server, "sara", XSS)
    _seed_month(in_thread, server)
    in_thread(_audit_with_markup, server.database, counsellor.staff_id).result()

    anonymous = contexts.page()
    anonymous.goto(server.base_url + "/staff/stats")
    expect(anonymous.get_by_text("Log in on the staff console first.")).to_be_visible()
    shot(anonymous, "1-anonymous")
    staff = contexts.page()
    open_console(staff, server, counsellor, on_duty=False)
    staff.goto(server.base_url + "/staff/audit")
    expect(staff.get_by_text("Statistics and the audit log are for supervisors.")).to_be_visible()
    expect(staff.locator("table")).to_have_count(0)
    shot(staff, "2-counsellor-refused")

    page = contexts.page()
    open_console(page, server, supervisor, on_duty=False)
    page.goto(server.base_url + "/staff/board")
    nav = page.get_by_role("navigation", name="Staff pages")
    expect(nav.get_by_role("link", name="Live board")).to_have_attribute("aria-current", "page")
    nav.get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", name="Statistics", level=1)).to_be_visible()

    today = page.locator("[data-today]")
    expect(today.get_by_role("img", name="Today,")).to_be_visible()
    expect(today.get_by_role("row", name="Joins")).to_contain_text("16")
    expect(today.get_by_role("row", name="Service level")).to_contain_text("80 %")
    for name in ("Chats per day", "Wait before a counsellor answered, per day"):
        expect(page.get_by_role("img", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Service level per day")).to_be_visible()
    counts = page.locator('[data-table="counts"] tbody tr')
    expect(counts).to_have_count(30)
    tags = page.locator('[data-table="referral"]')
    expect(tags.get_by_role("row", name="Social services")).to_contain_text("6")
    expect(tags.get_by_role("row", name="Police")).to_contain_text("fewer than 5")
    outcomes = page.locator('[data-table="outcome"]')
    expect(outcomes.get_by_role("row", name="Safety plan made")).to_contain_text("11")
    helped = page.locator('[data-table="feedback"]')
    expect(page.get_by_role("img", name="Did this chat help you?")).to_be_visible()
    expect(helped.get_by_role("row", name="Yes")).to_contain_text("6")
    expect(helped.get_by_role("row", name="Partly")).to_contain_text("fewer than 5")
    # 3 "no" yesterday: suppressed today (0) and over the 30 days (3).
    expect(helped.get_by_role("row", name="No fewer than 5 fewer than 5")).to_be_visible()
    page.locator("[data-feedback]").scroll_into_view_if_needed()
    shot(page, "3-stats-all-queues")

    page.get_by_label("Queue", exact=True).select_option("youth/police")
    page.get_by_role("button", name="Show").click()
    expect(today.get_by_role("row", name="Joins")).to_contain_text("fewer than 5")
    expect(today.get_by_role("row", name="Served fewer than 5", exact=True)).to_be_visible()
    shot(page, "4-stats-small-queue")

    page.get_by_label("Queue", exact=True).select_option("")
    page.get_by_role("button", name="Show").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Counts per day, queue, topic and language (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("vhouse-stats-")
    text = Path(download.path()).read_text("utf-8")
    assert text.startswith("day,queue,topic,language,joins,served,abandoned,dropped")
    assert "\n2026" in text or "\n20" in text
    police = [line for line in text.splitlines() if ",youth/police," in line]
    assert [line.split(",", 1)[1] for line in police] == ["youth/police,forced_marriage,sv,,,,,,"]

    page.get_by_role("navigation", name="Staff pages").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    rows = page.locator("[data-audit-table] tbody tr")
    expect(rows.first).to_be_visible()
    markup = rows.filter(has_text="conversation.deleted")
    expect(markup).to_contain_text(f"reason: {XSS}")  # as text
    expect(markup).to_contain_text(f"{XSS} (sara)")
    shot(page, "5-audit-all")

    page.get_by_label("What").select_option("stats.exported")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lena (lena)")
    expect(rows.first).to_contain_text("table: queues")
    assert "action=stats.exported" in page.url
    shot(page, "6-audit-stats-exported")

    page.get_by_label("Who (username, alias or “system”)").fill("sara")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No entries match.")).to_be_visible()
    shot(page, "7-audit-none")
