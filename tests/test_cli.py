"""The `vhouse` command as a newcomer and an operator use it: demo, migrate, staff, client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest

from app.client.device import DeviceKeys
from app.client.envelopes import open_text
from app.kit import b64
from tests.conftest import ROOT, STAFF_PASSWORD, Database, Server, free_port
from tests.support import (
    Harness,
    call,
    frames_until_closed,
    new_staff,
    staff_login,
    unique_language,
)

VHOUSE = [sys.executable, "-m", "app.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    return {**env, **extra}


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the process exited"
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("not healthy in time")


def test_demo_serves_and_its_printed_login_works(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603
        [*VHOUSE, "demo", "--port", str(port)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(base, process)
        assert (tmp_path / "var" / "demo.sqlite3").exists()
        for private in ("demo.sqlite3", "demo.sqlite3-wal", "demo-credentials.json"):
            assert (tmp_path / "var" / private).stat().st_mode & 0o777 == 0o600, private
        assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
        service_key = tmp_path / "var" / "service-key.pem"
        assert service_key.stat().st_mode & 0o777 == 0o600
        code = subprocess.run(  # noqa: S603
            [*VHOUSE, "demo-code"],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert re.fullmatch(r"\d{6}", code)
        creds = json.loads((tmp_path / "var" / "demo-credentials.json").read_text())
        response = httpx.post(
            base + "/staff/api/login",
            json={"username": creds["username"], "password": creds["password"], "totp": code},
            headers={"Origin": base},
        )
        assert response.status_code == 200, response.text
        assert response.json()["alias"] == "Sara"
        assert httpx.get(base + "/sv/chat").status_code == 200
        # A device of the demo counsellor: a fresh login and an enrolment code of the demo's.
        enrol = subprocess.run(  # noqa: S603
            [*VHOUSE, "--demo", "staff", "enrol", "demo"],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        device_code = re.search(r"shown once\): ([A-Z0-9-]{11})", enrol)
        assert device_code is not None, enrol
        keys = DeviceKeys.generate()
        device = httpx.post(
            base + "/staff/api/devices",
            json={
                "hpke_public_key": keys.hpke_public_key,
                "sig_public_key": keys.sig_public_key,
                "fresh_login": response.json()["fresh_login"],
                "enrol_code": device_code.group(1),
            },
            headers={"Origin": base, "X-CSRF-Token": response.json()["csrf_token"]},
            cookies=response.cookies,
        )
        assert device.status_code == 201, device.text

        # The other commands reach the demo's database with --demo, and without it they say
        # so instead of "no such table".
        def vhouse(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(  # noqa: S603
                [*VHOUSE, *args], cwd=tmp_path, env=_env(), capture_output=True, text=True
            )

        bare = vhouse("staff", "list")
        assert bare.returncode == 2
        assert bare.stderr.count("\n") == 1, bare.stderr
        assert "run `vhouse migrate`" in bare.stderr
        assert "`vhouse --demo staff list`" in bare.stderr
        assert not (tmp_path / "var" / "virtual-house.sqlite3").exists()
        on_demo = vhouse("--demo", "staff", "list")
        assert on_demo.returncode == 0, on_demo.stderr
        header, row = on_demo.stdout.splitlines()
        assert header.split()[:3] == ["username", "alias", "role"]
        assert row.split()[:3] == ["demo", "Sara", "admin"]
        listed = vhouse("--demo", "keys", "list")
        assert listed.returncode == 0, listed.stderr
        assert "service key:  " in listed.stdout
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    # What the demo printed for a newcomer: the login, the secret and the way to a code.
    assert f"password:      {creds['password']}" in output
    assert f"TOTP secret:   {creds['totp_secret']}" in output
    assert "vhouse demo-code" in output
    assert re.search(r"device code: +[A-Z2-9]{5}-[A-Z2-9]{5}", output)
    assert "vhouse --demo staff enrol demo" in output
    assert "vhouse --demo staff list" in output
    assert f"http://127.0.0.1:{port}/staff" in output
    # A period key for this month, so that the organisation's export can be tried too.
    period_key = tmp_path / "var" / "demo-period.key"
    assert period_key.stat().st_mode & 0o777 == 0o600
    assert f"passphrase {creds['period_passphrase']}" in output


def test_migrate_then_staff_add_and_list(database: Database) -> None:
    env = _env(VH_DATABASE_URL=database.url, VH_KEY_DIR=str(database.keys()))
    migrate = subprocess.run(  # noqa: S603
        [*VHOUSE, "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert "latest migration" in migrate.stdout
    add = subprocess.run(  # noqa: S603
        [
            *VHOUSE,
            "staff",
            "add",
            "anna",
            "--alias",
            "Sara",
            "--role",
            "supervisor",
            "--languages",
            "sv,ar",
            "--skills",
            "youth,professional",
            "--capacity",
            "3",
            "--password-stdin",
        ],
        cwd=ROOT,
        env=env,
        input=STAFF_PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.search(r"TOTP secret: [A-Z2-7]{32}", add.stdout)
    assert "otpauth://totp/" in add.stdout
    assert STAFF_PASSWORD not in add.stdout + add.stderr
    listed = subprocess.run(  # noqa: S603
        [*VHOUSE, "staff", "list", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    row = json.loads(listed.stdout.strip().splitlines()[0])
    assert row["username"] == "anna"
    assert row["alias"] == "Sara"
    assert row["role"] == "supervisor"
    assert row["languages"] == "ar,sv"
    assert row["capacity"] == 3
    assert "password" not in json.dumps(row)


def test_staff_add_refuses_a_weak_password_and_a_duplicate(database: Database) -> None:
    env = _env(VH_DATABASE_URL=database.url, VH_KEY_DIR=str(database.keys()))
    weak = subprocess.run(  # noqa: S603
        [*VHOUSE, "staff", "add", "bo", "--alias", "B", "--password-stdin"],
        cwd=ROOT,
        env=env,
        input="short\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert weak.returncode == 2
    assert "at least 12" in weak.stderr
    for expected in (0, 2):
        result = subprocess.run(  # noqa: S603
            [*VHOUSE, "staff", "add", "bo", "--alias", "B", "--password-stdin"],
            cwd=ROOT,
            env=env,
            input=STAFF_PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == expected, result.stderr


def test_client_youth_joins_and_prints_frames(server: Server) -> None:
    process = subprocess.Popen(  # noqa: S603
        [*VHOUSE, "client", "--url", server.base_url, "youth", "--language", "sv"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert len(first["ticket"]) == 22
        # Nobody is on duty: the young person is told so, then keeps the place (issue 9).
        second = json.loads(process.stdout.readline())
        assert (second["type"], second["emergency"]) == ("unserved", "112")
        third = json.loads(process.stdout.readline())
        assert third == {"type": "position", "position": 1, "waiting": 1, "estimate": None}
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes the pipes


async def test_staff_disable_ends_sessions_devices_and_duty(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        account = await new_staff(server, languages=[language])
        console, _ = await h.console(account)
        await console.duty(True)
        youth = await h.youth()
        await youth.join(language=language)
        await youth.wait_paired()
        assert console.credentials is not None
        assert console.device is not None

        disable = await asyncio.to_thread(
            subprocess.run,
            [*VHOUSE, "staff", "disable", account.username],
            cwd=ROOT,
            env=_env(VH_DATABASE_URL=server.database.url),
            capture_output=True,
            text=True,
            check=False,
        )
        assert disable.returncode == 0, disable.stderr
        assert "1 open chat(s) go back to the queue" in disable.stdout
        frames, code = await frames_until_closed(console, timeout=15)
        assert code == 1008
        assert any(f.get("code") == "logged_out" for f in frames)
        status, _ = await call(
            server,
            "GET",
            f"/staff/api/devices/{console.device.device_id}",
            None,
            console.credentials,
        )
        assert status == 401  # the session is gone too
        with pytest.raises(urllib.error.HTTPError) as refused:
            await staff_login(server, account)
        assert refused.value.code == 401
        refused.value.close()

        unknown = subprocess.run(  # noqa: S603
            [*VHOUSE, "staff", "disable", "nobody-here"],
            cwd=ROOT,
            env=_env(VH_DATABASE_URL=server.database.url),
            capture_output=True,
            text=True,
            check=False,
        )
        assert unknown.returncode == 2
        assert "no staff member" in unknown.stderr


async def test_client_youth_chats_end_to_end_with_a_pinned_service_key(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        console, _ = await h.console(await new_staff(server, languages=[language]))
        await console.duty(True)
        process = await asyncio.create_subprocess_exec(
            *VHOUSE,
            "client",
            "--url",
            server.base_url,
            "youth",
            "--language",
            language,
            "--service-key",
            b64.encode(server.service_key),
            "--say",
            "hej från terminalen",
            cwd=ROOT,
            env=_env(),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assigned = await console.wait_assigned()
            conv = assigned["conv"]
            key = await console.wait_keys(conv)
            await console.expect("envelope", timeout=15)
            assert open_text(key, console.envelopes[-1]) == "hej från terminalen"
            await console.send_envelope(console.senders[conv].text_envelope(key, "svar"))
            assert process.stdout is not None
            lines = []
            while {"role": "C", "text": "svar"} not in lines:
                line = await asyncio.wait_for(process.stdout.readline(), 15)
                assert line, "the client exited"
                lines.append(json.loads(line))
            await console.send({"type": "close", "conv": conv})
            assert await asyncio.wait_for(process.wait(), 15) == 0
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()


async def test_staff_enrol_prints_a_code_for_one_device(server: Server) -> None:
    """``vhouse staff enrol`` (issue 13 (1)): a code for one new device, needing the server's
    key directory; the database keeps no code, only a keyed digest."""
    account = await new_staff(server)
    bare = _env(VH_DATABASE_URL=server.database.url)
    refused = await asyncio.to_thread(
        subprocess.run,
        [*VHOUSE, "staff", "enrol", account.username],
        cwd=ROOT,
        env=bare,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "VH_KEY_DIR" in refused.stderr
    made = await asyncio.to_thread(
        subprocess.run,
        [*VHOUSE, "staff", "enrol", account.username],
        cwd=ROOT,
        env={**bare, "VH_KEY_DIR": str(server.database.keys())},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"shown once\): ([A-Z2-9]{5}-[A-Z2-9]{5})", made.stdout)
    assert found is not None, made.stdout
    code = found.group(1)
    dump = await asyncio.to_thread(_dump_table, server.database, "device_enrolments")
    assert dump
    assert code not in dump
    assert code.replace("-", "") not in dump
    creds = await staff_login(server, account)
    keys = DeviceKeys.generate()
    body = {
        "hpke_public_key": keys.hpke_public_key,
        "sig_public_key": keys.sig_public_key,
        "fresh_login": creds.fresh_login,
        "enrol_code": code,
    }
    status, info = await call(server, "POST", "/staff/api/devices", body, creds)
    assert status == 201, info
    status, info = await call(server, "POST", "/staff/api/devices", body, creds)
    assert (status, info["error"]["code"]) == (403, "enrol_code_wrong")


def _dump_table(database: Database, table: str) -> str:
    """Every row of ``table`` as text, as a database reader would see it."""
    from sqlalchemy import text

    from app.config import Settings
    from app.db import make_engine

    async def read() -> str:
        engine = make_engine(Settings(mode="test", database_url=database.url))
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
        finally:
            await engine.dispose()
        return repr(rows)

    return asyncio.run(read())
