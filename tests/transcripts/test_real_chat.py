"""A real chat through a real server with the Python clients sealing for real, then the
organisation's export of it: the canary reads back only through the period key (CRYPTO.md §7)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.client.envelopes import Sender, open_text
from app.models import Envelope
from tests.canary import canary_phrase, find_canary
from tests.conftest import ROOT, Server
from tests.support import Harness, new_staff, unique_language
from tests.transcripts.world import in_transaction

PASSPHRASE = "a long custody passphrase"


def _vhouse(server: Server, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    env |= {
        "VH_DATABASE_URL": server.database.url,
        "VH_SERVICE_KEY_FILE": str(server.service_key_file),
    }
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


async def _chat(server: Server, from_youth: str, from_counsellor: str) -> str:
    async with Harness(server) as h:
        language = unique_language()
        staff, _ = await h.console(await new_staff(server, languages=[language]))
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv: str = (await youth.wait_paired())["conv"]
        key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, from_youth))
        await youth.expect("ack")
        await staff.expect("envelope")
        assert open_text(key, staff.envelopes[-1]) == from_youth
        await staff.send_envelope(staff.senders[conv].text_envelope(key, from_counsellor))
        await staff.expect("ack")
        await youth.expect("envelope")
        return conv


def test_the_organisation_reads_a_real_chat_only_with_its_period_key(
    server: Server, tmp_path: Path
) -> None:
    period_file = tmp_path / "custody" / "period.pem"
    made = _vhouse(
        server,
        *("keys", "new-period", "--out", str(period_file), "--passphrase-stdin"),
        stdin=PASSPHRASE + "\n",
    )
    assert made.returncode == 0, made.stderr
    period_id = json.loads(made.stdout)["period_id"]

    canary = canary_phrase()
    conv = asyncio.run(_chat(server, f"hej, {canary}", "Hej! Jag finns här."))

    out = tmp_path / "transcript.json"
    exported = _vhouse(
        server,
        *("transcripts", "export", f"--conversation={conv}", "--period-key", str(period_file)),
        *("--passphrase-stdin", "--format", "json", "--out", str(out)),
        stdin=PASSPHRASE + "\n",
    )
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text("utf-8"))
    assert document["verified"] is True
    assert document["period"]["period_id"] == period_id
    assert [(s["seg"], s["status"]) for s in document["segments"]] == [(0, "verified")]
    # The console signed its clock into the acceptance: the certificate was checked then.
    assert [s["accept_time"] for s in document["segments"]] == ["signed"]
    assert [(m["role"], m["body"]["body"]) for m in document["messages"]] == [
        ("Y", f"hej, {canary}"),
        ("C", "Hej! Jag finns här."),
    ]
    # Only the export holds the plaintext: not the database, its WAL, or the server's log.
    assert find_canary(canary, database=server.database, paths=[server.log_path]) == []
    assert find_canary(canary, paths=[out]) == [f"{out} (utf-8)"]


async def _signed_chat(server: Server) -> tuple[str, bytes, list[tuple[int, str]]]:
    """A chat the counsellor's Python client closes: it signs first, the young person's client
    checks the relayed signature. Returns the conversation, its K and the youth's checks."""
    async with Harness(server) as h:
        language = unique_language()
        staff, _ = await h.console(await new_staff(server, languages=[language]))
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv: str = (await youth.wait_paired())["conv"]
        key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(key, "hej"))
        await youth.expect("ack")
        await staff.expect("envelope")
        await staff.send_envelope(staff.senders[conv].text_envelope(key, "Hej, jag heter Sara."))
        await staff.expect("ack")
        await youth.expect("envelope")
        await staff.close_chat(conv)
        assert (await staff.expect("transcript_sig_stored"))["seg"] == 0
        await youth.expect("transcript_sig")
        await youth.expect("closed")
        return conv, key, youth.transcript_checks


def _forge_counsellor_message(server: Server, conv: str, key: bytes) -> None:
    """A K holder (here the young person's key) writes under role C straight into the store."""
    forger = Sender(conv=conv, role="C")
    envelope = forger.text_envelope(key, "förfalskat meddelande")

    async def add(session: AsyncSession) -> None:
        session.add(
            Envelope(
                conv_id=conv,
                seg=0,
                role="C",
                inst=envelope.inst,
                seq=envelope.seq,
                ct=envelope.ct,
            )
        )

    in_transaction(server.database, add)


def test_the_export_verifies_the_counsellor_clients_signature_and_flags_a_forgery(
    server: Server, tmp_path: Path
) -> None:
    """Issue 13 (5): a real close signs the transcript; the young person's client and the
    export verify it; a counsellor message forged afterwards by a K holder is not covered."""
    period_file = tmp_path / "custody" / "period.pem"
    made = _vhouse(
        server,
        *("keys", "new-period", "--out", str(period_file), "--passphrase-stdin"),
        stdin=PASSPHRASE + "\n",
    )
    assert made.returncode == 0, made.stderr

    conv, key, checks = asyncio.run(_signed_chat(server))
    assert checks == [(0, "ok")]
    _forge_counsellor_message(server, conv, key)

    out = tmp_path / "transcript.json"
    exported = _vhouse(
        server,
        *("transcripts", "export", f"--conversation={conv}", "--period-key", str(period_file)),
        *("--passphrase-stdin", "--format", "json", "--out", str(out)),
        stdin=PASSPHRASE + "\n",
    )
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text("utf-8"))
    assert [(s["seg"], s["status"], s["signature"]) for s in document["segments"]] == [
        (0, "verified", "signed")
    ]
    assert [(m["role"], m["body"]["body"], m["signed"]) for m in document["messages"]] == [
        ("Y", "hej", True),
        ("C", "Hej, jag heter Sara.", True),
        ("C", "förfalskat meddelande", False),
    ]
    assert document["messages"][2]["signature"] == "not covered by a counsellor signature"
    assert document["unsigned_messages"] == 1
