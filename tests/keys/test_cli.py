"""``vhouse keys`` as a custodian uses it, through the real command."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.crypto import sign
from app.keys import engine, files
from app.kit import b64
from tests.conftest import ROOT, Database

VHOUSE = [sys.executable, "-m", "app.cli"]
PASSPHRASE = "a long custody passphrase"


def _vhouse(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [*VHOUSE, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    return {**env, **extra}


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.strip().splitlines()]


def test_keys_init_writes_a_0600_key_prints_its_fingerprint_and_never_overwrites(
    tmp_path: Path,
) -> None:
    path = tmp_path / "service-key.pem"
    created = _vhouse("keys", "init", "--file", str(path), env=_env())
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    point = sign.public_key_bytes(files.load_service_key(path))
    assert f"public key:  {b64.encode(point)}" in created.stdout
    assert f"fingerprint: {engine.fingerprint(point)}" in created.stdout
    before = path.read_bytes()
    again = _vhouse("keys", "init", "--file", str(path), env=_env())
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert path.read_bytes() == before
    unset = _vhouse("keys", "init", env=_env())
    assert unset.returncode == 2
    assert "VH_SERVICE_KEY_FILE" in unset.stderr


def test_new_period_list_and_destroy_period(database: Database, tmp_path: Path) -> None:
    service_file = tmp_path / "service-key.pem"
    env = _env(VH_DATABASE_URL=database.url, VH_SERVICE_KEY_FILE=str(service_file))
    assert _vhouse("keys", "init", env=env).returncode == 0
    out = tmp_path / "custody" / "2026-11.pem"
    period_args = ("--not-before", "2026-11-01", "--not-after", "2026-12-01", "--out", str(out))

    weak = _vhouse(
        "keys", "new-period", *period_args, "--passphrase-stdin", env=env, stdin="short\n"
    )
    assert weak.returncode == 2
    assert "at least 12" in weak.stderr
    assert not out.exists()

    made = _vhouse(
        "keys", "new-period", *period_args, "--passphrase-stdin", env=env, stdin=PASSPHRASE + "\n"
    )
    assert made.returncode == 0, made.stderr
    (period,) = _lines(made.stdout)
    assert period["not_before"] == "2026-11-01"
    assert period["not_after"] == "2026-12-01"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    files.load_period_key(out, PASSPHRASE)
    assert files.period_key_kdf(out) == (files.PERIOD_KEY_KDF, files.PERIOD_KEY_KDF_ITERATIONS)
    assert PASSPHRASE not in made.stdout + made.stderr

    service, listed = _lines(_vhouse("keys", "list", "--json", env=env).stdout)
    point = sign.public_key_bytes(files.load_service_key(service_file))
    assert service["service_key_fingerprint"] == engine.fingerprint(point)
    # For people: the fingerprint, then a table of the periods.
    table = _vhouse("keys", "list", env=env).stdout.splitlines()
    assert table[0] == f"service key:  {engine.fingerprint(point)}"
    assert table[3].split()[:5] == [
        "period_id",
        "not_before",
        "not_after",
        "certified",
        "destroyed",
    ]
    assert table[4].split()[:5] == [period["period_id"], "2026-11-01", "2026-12-01", "yes", "no"]
    assert listed == {
        "period_id": period["period_id"],
        "not_before": "2026-11-01",
        "not_after": "2026-12-01",
        "fingerprint": period["fingerprint"],
        "destroyed": False,
        "certified": True,
    }

    destroyed = _vhouse(
        "keys",
        "destroy-period",
        "--file",
        str(out),
        f"--period-id={period['period_id']}",
        env=env,
    )
    assert destroyed.returncode == 0, destroyed.stderr
    assert not out.exists()
    _, listed = _lines(_vhouse("keys", "list", "--json", env=env).stdout)
    assert listed["destroyed"] is True


def test_new_period_defaults_to_this_calendar_month(database: Database, tmp_path: Path) -> None:
    service_file = tmp_path / "service-key.pem"
    env = _env(VH_DATABASE_URL=database.url, VH_SERVICE_KEY_FILE=str(service_file))
    no_service_key = _vhouse(
        "keys",
        "new-period",
        "--out",
        str(tmp_path / "p.pem"),
        "--passphrase-stdin",
        env=env,
        stdin=PASSPHRASE + "\n",
    )
    assert no_service_key.returncode == 2
    assert "vhouse keys init" in no_service_key.stderr
    assert _vhouse("keys", "init", env=env).returncode == 0
    made = _vhouse(
        "keys",
        "new-period",
        "--out",
        str(tmp_path / "p.pem"),
        "--passphrase-stdin",
        env=env,
        stdin=PASSPHRASE + "\n",
    )
    assert made.returncode == 0, made.stderr
    (period,) = _lines(made.stdout)
    first, following = engine.calendar_month(datetime.now(UTC).date())
    assert (period["not_before"], period["not_after"]) == (str(first), str(following))
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", str(period["period_id"]))
