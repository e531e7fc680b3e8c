"""The statistics page, its CSV downloads and the audit-log API on a real server: roles
(anonymous 401, counsellor 403, supervisor and admin 200), cells under 5 never shown, the
downloads equal to the CLI export and audited, the audit log filtered and paged."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import urllib.error
import urllib.request

from app.client.api import Credentials
from tests.conftest import Server
from tests.expiry.world import rows
from tests.supervision.seeding import seed
from tests.supervision.test_stats_export import _export
from tests.support import call, new_staff, shared_server, staff_login

server = shared_server()
XSS = '<img src=x onerror="alert(1)">'


def _get(server: Server, path: str, creds: Credentials | None) -> tuple[int, dict[str, str], str]:
    headers = {} if creds is None else {"Cookie": f"{creds.cookie_name}={creds.cookie}"}
    request = urllib.request.Request(server.base_url + path, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read().decode()


async def get(
    server: Server, path: str, creds: Credentials | None = None
) -> tuple[int, dict[str, str], str]:
    return await asyncio.to_thread(_get, server, path, creds)


def _skill() -> str:
    return "s" + secrets.token_hex(6)


async def test_roles_for_every_statistics_and_audit_endpoint(server: Server) -> None:
    counsellor = await staff_login(server, await new_staff(server))
    supervisor = await staff_login(server, await new_staff(server, role="supervisor"))
    admin = await staff_login(server, await new_staff(server, role="admin"))
    for path in ("/staff/api/stats.csv", "/staff/api/stats/tags.csv", "/staff/api/audit"):
        assert (await get(server, path))[0] == 401, path
        status, _, body = await get(server, path, counsellor)
        assert status == 403, path
        assert json.loads(body)["error"]["code"] == "forbidden"
        for creds in (supervisor, admin):
            assert (await get(server, path, creds))[0] == 200, path
    for path in ("/staff/stats", "/staff/audit"):
        status, _, page = await get(server, path)
        assert status == 401
        assert "Log in on the staff console first." in page
        assert "<svg" not in page
        status, _, page = await get(server, path, counsellor)
        assert status == 403
        assert "are for supervisors" in page
        assert "<svg" not in page
        assert "data-table" not in page
        for creds in (supervisor, admin):
            status, _, page = await get(server, path, creds)
            assert status == 200, path
            assert '<nav class="staff-nav" aria-label="Staff pages">' in page


async def test_the_page_shows_figures_and_never_a_small_cell(server: Server) -> None:
    big, small = _skill(), _skill()
    # 6 served (4 within 2 minutes) and 5 abandoned; tags: 7 safety plans, 2 police referrals.
    queue = await seed(
        server.database,
        skill=big,
        served_waits=[10, 50, 100, 119, 300, 900],
        abandoned=5,
        tags={("outcome", "safety_plan"): 7, ("referral", "police"): 2},
    )
    other = await seed(server.database, skill=small, served_waits=[20, 30, 40], abandoned=1)
    supervisor = await staff_login(server, await new_staff(server, role="supervisor", alias=XSS))

    status, _, page = await get(server, f"/staff/stats?queue={queue}", supervisor)
    assert status == 200
    assert f'<option value="{queue}" selected>' in page
    assert f'<option value="{other}">' in page
    today = page.split("data-today", 1)[1].split("</section>", 1)[0]
    assert '<tr><th scope="row">Joins</th><td>11</td></tr>' in today
    assert '<tr><th scope="row">Served</th><td>6</td></tr>' in today
    assert '<tr><th scope="row">Abandoned in the queue</th><td>5</td></tr>' in today
    assert '<tr><th scope="row">Service level</th><td>67 %</td></tr>' in today
    assert "Wait, p90</th><td>15 min 00 s" in today
    assert "<title>Joins: 11</title>" in today  # the chart's bar
    tags = page.split("data-tags", 1)[1]
    assert '<tr><th scope="row">Safety plan made</th><td>7</td></tr>' in tags
    assert '<tr><th scope="row">Police</th><td>fewer than 5</td></tr>' in tags
    assert "Referrals tagged at close" in tags
    assert "Police: fewer than 5" in tags  # the bar's title, never the 2

    # The small queue alone: 4 joins, 3 served, 1 abandoned, all suppressed everywhere.
    status, _, page = await get(server, f"/staff/stats?queue={other}", supervisor)
    today = page.split("data-today", 1)[1].split("</section>", 1)[0]
    for label in ("Joins", "Served", "Abandoned in the queue"):
        assert f'<tr><th scope="row">{label}</th><td>fewer than 5</td></tr>' in today
    assert "Service level</th><td>fewer than 5 served" in today
    assert "Joins: 4" not in page
    assert "Served: 3" not in page
    # The alias is text, never markup.
    assert XSS not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page

    status, _, page = await get(server, "/staff/stats?from=2026-11-05&to=2026-11-01", supervisor)
    assert status == 422
    assert "is after the last day" in page

    status, _, page = await get(server, "/staff/stats?from=2026-11-01&to=2026-11-03", supervisor)
    assert status == 200
    counts = page.split('data-table="counts"', 1)[1].split("</table>", 1)[0]
    assert counts.count('<tr><th scope="row">') == 3


async def test_the_csv_is_the_cli_export_and_is_audited(server: Server) -> None:
    queue = await seed(
        server.database,
        skill=_skill(),
        served_waits=[10, 20, 30, 40, 50],
        abandoned=5,
        tags={("outcome", "advice_given"): 5, ("referral", "school"): 1},
    )
    account = await new_staff(server, role="supervisor")
    supervisor = await staff_login(server, account)
    status, headers, body = await get(server, "/staff/api/stats.csv", supervisor)
    assert status == 200
    assert headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == 'attachment; filename="vhouse-stats-all.csv"'
    cli = await asyncio.to_thread(_export, server.database, "csv")
    assert body == cli
    mine = [r for r in csv.DictReader(io.StringIO(body)) if r["queue"] == queue]
    assert len(mine) == 1
    assert (mine[0]["joins"], mine[0]["served"], mine[0]["abandoned"]) == ("10", "5", "5")
    assert mine[0]["dropped"] == ""  # 0: suppressed

    status, headers, body = await get(
        server, "/staff/api/stats/tags.csv?from=2020-01-01&to=2099-12-31", supervisor
    )
    assert status == 200
    assert headers["content-disposition"] == (
        'attachment; filename="vhouse-close-tags-2020-01-01-2099-12-31.csv"'
    )
    tags = {
        (r["dimension"], r["value"]): r["count"]
        for r in csv.DictReader(io.StringIO(body))
        if r["queue"] == queue
    }
    assert tags == {("outcome", "advice_given"): "5", ("referral", "school"): ""}

    status, _, body = await get(
        server, "/staff/api/stats.csv?from=2026-11-05&to=2026-11-01", supervisor
    )
    assert status == 422
    assert json.loads(body)["error"]["code"] == "invalid_request"

    audited = await rows(
        server,
        "SELECT detail FROM audit_log WHERE action = 'stats.exported' AND staff_id = :s"
        " ORDER BY id",
        s=account.staff_id,
    )
    assert [json.loads(d) for (d,) in audited] == [
        {"table": "queues", "from": None, "to": None},
        {"table": "tags", "from": "2020-01-01", "to": "2099-12-31"},
    ]


async def test_the_audit_log_filters_and_pages(server: Server) -> None:
    account = await new_staff(server, role="supervisor", alias="Audit Anna")
    supervisor = await staff_login(server, account)
    for _ in range(3):  # three audited downloads by this supervisor
        assert (await get(server, "/staff/api/stats/tags.csv", supervisor))[0] == 200

    status, body = await call(
        server, "GET", f"/staff/api/audit?actor={account.username}&limit=2", None, supervisor
    )
    assert status == 200
    assert [e["action"] for e in body["entries"]] == ["stats.exported", "stats.exported"]
    assert body["entries"][0]["actor"] == {"username": account.username, "alias": "Audit Anna"}
    assert body["entries"][0]["id"] > body["entries"][1]["id"]  # newest first
    assert "stats.exported" in body["actions"]
    assert body["next_before"] == body["entries"][1]["id"]
    status, older = await call(
        server,
        "GET",
        f"/staff/api/audit?actor=audit%20anna&limit=2&before={body['next_before']}",
        None,
        supervisor,
    )
    assert status == 200
    # The third download, then the login (staff.login is audited? only what the log holds).
    assert older["entries"][0]["action"] == "stats.exported"
    assert all(e["actor"]["alias"] == "Audit Anna" for e in older["entries"])

    status, body = await call(
        server,
        "GET",
        "/staff/api/audit?action=stats.exported&from=2020-01-01&to=2020-01-02",
        None,
        supervisor,
    )
    assert body["entries"] == []
    assert body["next_before"] is None
    status, body = await call(
        server, "GET", "/staff/api/audit?actor=nobody-of-that-name", None, supervisor
    )
    assert body["entries"] == []
    status, body = await call(server, "GET", "/staff/api/audit?limit=0", None, supervisor)
    assert status == 422
    status, body = await call(
        server, "GET", "/staff/api/audit?from=2026-01-02&to=2026-01-01", None, supervisor
    )
    assert status == 422
