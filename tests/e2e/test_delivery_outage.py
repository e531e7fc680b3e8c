"""A database outage under both real pages (issue 9 item 7; PROTOCOL.md §4; SECURITY R-21, R-26).

The database (a PostgreSQL cluster of this test's own) stops for 20 s while the young person and
the counsellor keep writing. Each message sent meanwhile is refused (``unavailable``), kept and
sent again: after recovery every message is stored and shown exactly once, in order on each
stream, and no message was marked delivered before its own ack had reached its page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Database, Server, StaffAccount, start_server
from tests.e2e.conftest import EXIT_PATH, Contexts
from tests.e2e.pages import open_console, send, start_youth_chat, wait_paired
from tests.pgcluster import PgCluster, pg_cluster

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

OUTAGE_SECONDS = 20

#: Records, before the page's own listeners run, every ack that reaches the page and the
#: moment each own message stops being marked pending (in page time).
WATCH = """
(() => {
  window.__acks = [];
  window.__delivered = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        try {
          const frame = JSON.parse(event.data);
          if (frame.type !== "ack") return;
          window.__acks.push({ inst: frame.inst, seq: frame.seq, t: performance.now() });
        } catch {}
      });
    }
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      const item = change.target;
      if (!item.classList?.contains("message-own")) continue;
      const was = change.oldValue?.includes("message-pending");
      if (was && !item.classList.contains("message-pending")) {
        const own = [...item.parentElement.querySelectorAll(".message-own")];
        window.__delivered.push({ index: own.indexOf(item), t: performance.now() });
      }
    }
  }).observe(document, {
    subtree: true, attributes: true, attributeFilter: ["class"], attributeOldValue: true,
  });
})();
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PgCluster]:
    with pg_cluster(tmp_path) as made:
        yield made


@pytest.fixture
def server(cluster: PgCluster, tmp_path: Path) -> Iterator[Server]:
    """The browser fixtures' server, on this test's own PostgreSQL cluster, with the default
    heartbeat timeout: the counsellor's shift must outlive the outage (heartbeats cannot be
    stored meanwhile, and the staff sweep counts silence only while the database is up)."""
    srv = start_server(
        Database("postgresql", cluster.url),
        tmp_path,
        VH_QUICK_EXIT_URL=EXIT_PATH,
    )
    try:
        yield srv
    finally:
        srv.stop()


def _query(url: str, sql: str) -> list[Any]:
    async def read() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(text(sql)))
        finally:
            await engine.dispose()

    # Playwright's sync API holds this thread's event loop: read in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result()


def _stored(url: str) -> list[tuple[str, str, int]]:
    rows = _query(url, "SELECT role, inst, seq FROM envelopes ORDER BY id")
    return [(r.role, r.inst, r.seq) for r in rows]


def _delivered_only_after_own_ack(page: Any) -> None:
    """Own message number i (1-based) is seq i of the page's one stream: its pending mark may
    go only once the ack of that very seq had arrived."""
    acks = page.evaluate("window.__acks")
    delivered = page.evaluate("window.__delivered")
    assert len({a["inst"] for a in acks}) == 1
    first_ack = {}
    for ack in acks:
        first_ack.setdefault(ack["seq"], ack["t"])
    for mark in delivered:
        seq = mark["index"] + 1
        assert seq in first_ack, f"message {seq} shown as delivered without its ack"
        assert first_ack[seq] <= mark["t"], f"message {seq} shown as delivered before its ack"


def test_messages_written_during_a_database_outage_are_delivered_once_in_order(
    contexts: Contexts, server: Server, counsellor: StaffAccount, cluster: PgCluster
) -> None:
    """R-21: Messages written during a database outage are delivered once in order."""
    youth_context, staff_context = contexts.new(), contexts.new()
    youth_context.add_init_script(WATCH)
    staff_context.add_init_script(WATCH)
    youth, staff = youth_context.new_page(), staff_context.new_page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    expect(panel.get_by_role("textbox", name="Message")).to_be_enabled()
    youth_log = youth.locator("[role=log] .message-body")
    staff_log = panel.locator(".message-body")

    send(youth, "Y1")
    expect(staff_log).to_have_text(["Y1"])
    send(staff, "C1", panel)
    expect(youth_log).to_have_text(["Y1", "C1"])

    cluster.stop()
    stopped = time.monotonic()
    send(youth, "Y2")
    send(staff, "C2", panel)
    youth.wait_for_timeout(3000)
    send(youth, "Y3")
    send(staff, "C3", panel)
    youth.wait_for_timeout(3000)
    # Not stored, so not delivered: both still marked pending on each side.
    expect(youth.locator(".message-own.message-pending .message-body")).to_have_text(["Y2", "Y3"])
    expect(panel.locator(".message-own.message-pending .message-body")).to_have_text(["C2", "C3"])
    youth.wait_for_timeout(max(0, int((OUTAGE_SECONDS - (time.monotonic() - stopped)) * 1000)))
    cluster.start()
    send(youth, "Y4")
    send(staff, "C4", panel)

    # Recovered: everything shows once, in order, and is marked delivered.
    expect(youth.locator(".message-pending")).to_have_count(0, timeout=40_000)
    expect(panel.locator(".message-pending")).to_have_count(0, timeout=20_000)
    expect(staff_log).to_have_count(8)
    expect(youth_log).to_have_count(8)
    youth.wait_for_timeout(1000)  # nothing more arrives (no repeats)
    expect(staff_log).to_have_count(8)
    expect(youth_log).to_have_count(8)
    youth_order = youth_log.all_text_contents()
    assert [t for t in youth_order if t.startswith("C")] == ["C1", "C2", "C3", "C4"]
    assert [t for t in youth_order if t.startswith("Y")] == ["Y1", "Y2", "Y3", "Y4"]
    staff_order = staff_log.all_text_contents()
    assert [t for t in staff_order if t.startswith("Y")] == ["Y1", "Y2", "Y3", "Y4"]
    assert [t for t in staff_order if t.startswith("C")] == ["C1", "C2", "C3", "C4"]

    # The shift outlived the outage: two staff sweeps later the counsellor is still on duty and
    # still holds the chat (heartbeats could not be stored while the database was down).
    youth.wait_for_timeout(11_000)
    assert [tuple(r) for r in _query(cluster.url, "SELECT on_duty FROM staff")] == [(True,)]
    assert [tuple(r) for r in _query(cluster.url, "SELECT status FROM conversations")] == [
        ("open",)
    ]
    expect(panel.get_by_role("textbox", name="Message")).to_be_enabled()

    stored = _stored(cluster.url)
    for role in ("Y", "C"):
        mine = [(inst, seq) for r, inst, seq in stored if r == role]
        assert [seq for _, seq in mine] == [1, 2, 3, 4], stored  # each once, in order
        assert len({inst for inst, _ in mine}) == 1

    _delivered_only_after_own_ack(youth)
    _delivered_only_after_own_ack(staff)
    # Nothing crashed: an outage is logged in one line a failure, never as a traceback.
    log = server.log()
    assert "Traceback" not in log, log[-4000:]
