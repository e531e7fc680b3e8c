"""``vhouse staff devices`` and ``vhouse staff revoke-device`` (issue 13 (1)): one lost device
revoked on its own, audited; the console using it closes within 5 s and, as it was the duty
device, the shift ends and the young person goes back to the queue; the device cannot connect
again, while the counsellor's session lives on for a new device."""

from __future__ import annotations

import asyncio
import json
import time

from tests.conftest import Server, StaffAccount
from tests.staff.test_admin_cli import _details
from tests.support import Harness, frames_until_closed, new_staff
from tests.test_cli_operator import refused, vhouse


async def test_a_revoked_duty_device_closes_its_console_and_ends_the_shift(server: Server) -> None:
    async with Harness(server) as h:
        account: StaffAccount = await new_staff(server, languages=["sv"])
        console, _ = await h.console(account)
        await console.duty(True)
        youth, conv = await h.pair(console, "sv")
        env = {"VH_DATABASE_URL": server.database.url}
        listed = await asyncio.to_thread(
            vhouse, "staff", "devices", account.username, "--json", env=env
        )
        assert listed.returncode == 0, listed.stderr
        devices = [json.loads(line) for line in listed.stdout.splitlines()]
        assert len(devices) == 1
        assert devices[0]["duty_device"] is True
        assert devices[0]["revoked_at"] is None
        device_id = devices[0]["device_id"]

        assert "no device" in refused(
            await asyncio.to_thread(
                vhouse, "staff", "revoke-device", account.username, "A" * 22, env=env
            )
        )
        done = await asyncio.to_thread(
            vhouse, "staff", "revoke-device", account.username, device_id, env=env
        )
        started = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert "1 open chat(s) go back to the queue" in done.stdout
        _, code = await frames_until_closed(console, timeout=5)
        assert code == 1008
        assert time.monotonic() - started < 5
        assert (await youth.expect("requeued", timeout=5))["conv"] == conv

        again = await asyncio.to_thread(
            vhouse, "staff", "revoke-device", account.username, device_id, env=env
        )
        assert "revoked already" in refused(again, code=1)
        table = await asyncio.to_thread(vhouse, "staff", "devices", account.username, env=env)
        assert table.stdout.splitlines()[0].split()[:2] == ["device", "registered"]
        assert "UTC" in table.stdout.splitlines()[1]
        audited = await asyncio.to_thread(asyncio.run, _details(server.database, "device.revoked"))
        assert audited == [{"target": account.username, "device_id": device_id}]
