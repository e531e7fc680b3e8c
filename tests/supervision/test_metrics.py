"""``GET /metrics`` on real servers: who may read it, how its figures move with a chat, the
internal listener of ``VH_METRICS_BIND``, and that nothing in it names anyone
(app/supervision/scrape.py, app/metrics.py; docs/PROTOCOL.md §1)."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.client.api import Credentials
from tests.conftest import Database, Server, database_of, free_port, stack_kinds, start_server
from tests.support import (
    Harness,
    new_staff,
    shared_server,
    staff_login,
    unique_language,
    until,
)

shared = shared_server()

#: What every scrape names, whatever happened before it.
EXPECTED = {
    "vhouse_queue_waiting",
    "vhouse_queue_urgent_waiting",
    "vhouse_queue_longest_wait_seconds",
    "vhouse_staff_on_duty",
    "vhouse_chats_active",
    "vhouse_sockets_open",
    "vhouse_envelopes_relayed",
    "vhouse_pairing_latency_seconds",
    "vhouse_pairing_wait_seconds",
    "vhouse_errors",
    "vhouse_database_up",
    "vhouse_tasks",
    "process_resident_memory_bytes",
}


def fetch(url: str, credentials: Credentials | None = None) -> tuple[int, str, str]:
    """(status, Content-Type, body) of a GET."""
    headers = {}
    if credentials is not None:
        headers["Cookie"] = f"{credentials.cookie_name}={credentials.cookie}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the test's server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["content-type"], exc.read().decode()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(server: Server, credentials: Credentials) -> tuple[str, Samples]:
    status, _, body = await asyncio.to_thread(fetch, server.base_url + "/metrics", credentials)
    assert status == 200, body
    return body, samples(body)


async def test_only_an_admin_session_reads_the_metrics(shared: Server) -> None:
    status, kind, body = await asyncio.to_thread(fetch, shared.base_url + "/metrics")
    assert (status, kind) == (401, "application/json")
    assert '"not_authenticated"' in body
    for role in ("counsellor", "supervisor"):
        credentials = await staff_login(shared, await new_staff(shared, role=role))
        status, kind, body = await asyncio.to_thread(
            fetch, shared.base_url + "/metrics", credentials
        )
        assert (status, kind) == (403, "application/json"), role
        assert '"forbidden"' in body
    admin = await staff_login(shared, await new_staff(shared, role="admin"))
    status, kind, body = await asyncio.to_thread(fetch, shared.base_url + "/metrics", admin)
    assert status == 200
    assert kind.startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(body)}
    assert names >= EXPECTED, EXPECTED - names
    found = samples(body)
    assert value(found, "vhouse_database_up") == 1
    # The refusals above were counted, by code.
    assert value(found, "vhouse_errors_total", transport="http", code="forbidden") >= 2
    assert value(found, "vhouse_errors_total", transport="http", code="not_authenticated") >= 1


async def test_the_figures_move_with_a_chat_and_name_no_one(server: Server) -> None:
    alias = f"Zelda{secrets.token_hex(4)}"
    language = unique_language()  # not in the question set: counted as "other"
    admin_account = await new_staff(server, role="admin")
    admin = await staff_login(server, admin_account)
    async with Harness(server) as h:
        account = await new_staff(server, alias=alias, languages=[language])
        console, _ = await h.console(account)
        _, before = await scrape(server, admin)
        assert value(before, "vhouse_sockets_open", kind="staff") == 1

        youth = await h.youth()
        ticket = await youth.join(language=language)
        await asyncio.sleep(1.5)  # waiting, with nobody on duty to pair
        _, waiting = await scrape(server, admin)
        assert value(waiting, "vhouse_queue_waiting", queue="youth", language="other") == 1
        assert value(waiting, "vhouse_queue_waiting", queue="youth", language="sv") == 0
        assert value(waiting, "vhouse_queue_longest_wait_seconds", queue="youth") >= 1.5
        assert value(waiting, "vhouse_sockets_open", kind="youth") == 1
        assert value(waiting, "vhouse_staff_on_duty", role="counsellor") == 0

        await console.duty(True)
        paired = await youth.wait_paired()
        await console.wait_assigned()
        assert youth.sender is not None
        for _ in range(3):
            await youth.send_envelope(youth.sender.test_envelope())
            await youth.expect("ack")
        await until(console, lambda: len(console.envelopes) == 3)
        await youth.send_raw("not json")
        await youth.expect("error")

        body, after = await scrape(server, admin)
        assert value(after, "vhouse_queue_waiting", queue="youth", language="other") == 0
        assert value(after, "vhouse_staff_on_duty", role="counsellor") == 1
        assert value(after, "vhouse_chats_active") == 1
        # The in-process broker: always up, never reconnects or drops; a channel per listener.
        assert value(after, "vhouse_broker_up") == 1
        assert value(after, "vhouse_broker_dropped_total") == 0
        assert value(after, "vhouse_broker_channels") >= 2
        # The young person's socket and chat run as tasks of the event loop: the count grew.
        assert value(after, "vhouse_tasks") > value(before, "vhouse_tasks")
        relayed = "vhouse_envelopes_relayed_total"
        assert value(after, relayed) - value(before, relayed) == 3
        bad_json = {"transport": "websocket", "code": "bad_json"}
        assert value(after, "vhouse_errors_total", **bad_json) == 1
        # One first pairing: possible once the counsellor came on duty (latency well under a
        # second), although the young person had waited longer than that.
        latency = "vhouse_pairing_latency_seconds"
        assert value(after, f"{latency}_count", queue="youth") == 1
        assert value(after, f"{latency}_sum", queue="youth") < 1.0
        wait = "vhouse_pairing_wait_seconds"
        assert value(after, f"{wait}_count", queue="youth") == 1
        assert value(after, f"{wait}_sum", queue="youth") >= 1.5

        for secret in (
            paired["conv"],
            ticket,
            alias,
            account.username,
            account.staff_id,
            admin_account.username,
            language,
            "127.0.0.1",
        ):
            assert secret not in body, secret

    await until_closed(server, admin)


async def until_closed(server: Server, admin: Credentials) -> None:
    """The sockets closed by the harness are counted down again."""
    deadline = time.monotonic() + 10
    while True:
        _, found = await scrape(server, admin)
        open_now = sum(value(found, "vhouse_sockets_open", kind=k) for k in ("youth", "staff"))
        if open_now == 0:
            return
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------------- the internal listener


@pytest.fixture(params=stack_kinds())
def internal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A server with ``VH_METRICS_BIND`` on a free loopback port, and that port's base URL."""
    port = free_port()
    with database_of(request.param, tmp_path) as database:
        srv = start_server(database, tmp_path, VH_METRICS_BIND=f"127.0.0.1:{port}")
        try:
            yield srv, f"http://127.0.0.1:{port}"
        finally:
            srv.stop()


async def test_the_internal_listener_needs_no_session_and_the_main_port_still_does(
    internal: tuple[Server, str],
) -> None:
    server, metrics_url = internal
    async with Harness(server) as h:
        youth = await h.youth()
        await youth.join(language=unique_language())
        status, kind, body = await asyncio.to_thread(fetch, metrics_url + "/metrics")
        assert status == 200
        assert kind.startswith("text/plain")
        found = samples(body)
        assert value(found, "vhouse_queue_waiting", queue="youth", language="other") == 1
        assert value(found, "vhouse_sockets_open", kind="youth") == 1
        # Nothing else is served there, and the main port still asks for an admin.
        for path in ("/", "/staff/api/board", "/healthz"):
            status, _, _ = await asyncio.to_thread(fetch, metrics_url + path)
            assert status == 404, path
        status, _, _ = await asyncio.to_thread(fetch, server.base_url + "/metrics")
        assert status == 401
        counsellor = await staff_login(server, await new_staff(server))
        status, _, _ = await asyncio.to_thread(fetch, server.base_url + "/metrics", counsellor)
        assert status == 403

    # SIGTERM stops both listeners, promptly and by itself.
    server.process.terminate()
    server.process.wait(timeout=12)
    port = int(metrics_url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert "Traceback" not in server.log()


def test_an_address_in_use_stops_serve_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'vh.sqlite3'}")
        with pytest.raises(RuntimeError, match=r"VH_METRICS_BIND 127\.0\.0\.1:\d+: cannot listen"):
            start_server(database, tmp_path, VH_METRICS_BIND=f"127.0.0.1:{port}")
