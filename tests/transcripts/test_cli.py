"""``vhouse transcripts export`` as the organisation's custodian runs it."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import build_parser
from app.models import AuditEntry
from tests.canary import canary_phrase, find_canary
from tests.conftest import ROOT, Database
from tests.transcripts.world import PASSPHRASE, World, in_transaction, make_world

VHOUSE = [sys.executable, "-m", "app.cli"]
T0 = 1_795_000_000_000


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    return make_world(database, tmp_path)


def _audits(world: World) -> int:
    async def count(session: AsyncSession) -> int:
        query = select(func.count()).where(AuditEntry.action == "transcript_export")
        return int((await session.execute(query)).scalar_one())

    return in_transaction(world.database, count)


def _vhouse(world: World, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    env |= {
        "VH_DATABASE_URL": world.database.url,
        "VH_SERVICE_KEY_FILE": str(world.service_key_file),
    }
    return subprocess.run(  # noqa: S603 - our own CLI
        [*VHOUSE, "transcripts", "export", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_export_through_the_real_command(world: World) -> None:
    canary = canary_phrase()
    world.add_segment(0)
    world.send(world.sender("Y"), canary, sent_at=T0)
    world.send(world.sender("C"), "Hej, jag heter Sara.", sent_at=T0 + 1000)
    # "--conversation=ID": an id may start with "-", which argparse would take for an option.
    common = (f"--conversation={world.conv_id}", "--period-key", str(world.period_file))
    out = world.tmp / "export.json"

    printed = _vhouse(world, *common, "--passphrase-stdin", stdin=PASSPHRASE + "\n")
    assert printed.returncode == 0, printed.stderr
    assert (
        f"young person 1 (seg 0 seq 1; NOT COVERED BY A COUNSELLOR SIGNATURE): {canary}\n"
        in printed.stdout
    )
    assert (
        "counsellor 1 (seg 0 seq 1; NOT COVERED BY A COUNSELLOR SIGNATURE): Hej, jag heter Sara.\n"
        in printed.stdout
    )
    assert printed.stderr == ""

    written = _vhouse(
        world,
        *common,
        "--passphrase-stdin",
        "--format",
        "json",
        "--out",
        str(out),
        stdin=PASSPHRASE + "\n",
    )
    assert written.returncode == 0, written.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text("utf-8"))
    assert [m["body"]["body"] for m in document["messages"]] == [canary, "Hej, jag heter Sara."]
    assert canary not in written.stdout + written.stderr  # only the file holds the plaintext
    assert _audits(world) == 2

    before = out.read_bytes()
    again = _vhouse(world, *common, "--passphrase-stdin", "--out", str(out), stdin=PASSPHRASE)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert "already exists" in again.stderr
    assert out.read_bytes() == before

    wrong = _vhouse(world, *common, "--passphrase-stdin", stdin="not the passphrase at all\n")
    assert wrong.returncode == 1
    assert wrong.stderr == (
        f"vhouse: {world.period_file}: wrong passphrase or not an encrypted private key\n"
    )
    assert wrong.stdout == ""
    assert _audits(world) == 2  # refusals read nothing and audit nothing
    assert find_canary(canary, database=world.database) == []


def _run(world: World, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """The export in this process (faster than a subprocess); the settings name no key file."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    parsed = build_parser().parse_args(
        [
            "transcripts",
            "export",
            f"--conversation={world.conv_id}",
            "--period-key",
            str(world.period_file),
            "--passphrase-stdin",
            *args,
        ]
    )
    code: int = parsed.func(world.database.settings(), parsed)
    return code


@pytest.mark.parametrize("accept", ["forged", "none"])
def test_an_unaccepted_segment_exits_1_unless_allowed_and_then_warns_loudly(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], accept: str
) -> None:
    world.add_segment(0, accept=accept)
    world.send(world.sender("Y"), "hello", sent_at=T0)
    service_key = ("--service-key-file", str(world.service_key_file))

    code = _run(world, monkeypatch, *service_key)
    refused = capsys.readouterr()
    assert code == 1
    assert refused.out == ""
    assert refused.err.startswith("vhouse: segment 0 is not trusted: ")
    assert refused.err.endswith("(--allow-unaccepted exports it marked NOT VERIFIED)\n")
    assert _audits(world) == 0

    code = _run(world, monkeypatch, *service_key, "--allow-unaccepted")
    allowed = capsys.readouterr()
    assert code == 0
    assert allowed.out.startswith("!!! NOT VERIFIED: ")
    assert (
        "young person 1 (seg 0 seq 1; NOT COVERED BY A COUNSELLOR SIGNATURE): hello\n"
        in allowed.out
    )
    assert allowed.err.startswith("vhouse: WARNING: NOT VERIFIED: ")
    assert _audits(world) == 1


def test_without_a_service_key_nothing_is_read(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.add_segment(0)
    world.send(world.sender("Y"), "hello", sent_at=T0)
    code = _run(world, monkeypatch)  # the test settings name no service key file
    assert code == 1
    assert capsys.readouterr().err == (
        "vhouse: no service key file: set VH_SERVICE_KEY_FILE or pass --service-key-file\n"
    )
    assert _audits(world) == 0
