"""The custody flow through the real command: make-period-key on the custodian's machine,
add-period on the server with only the ``.pub``, check-period on any file."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from app.crypto import certs, hpke, sign
from app.keys import engine, files
from app.keys import service as keys_service
from app.kit import b64
from tests.conftest import Database
from tests.keys.test_cli import PASSPHRASE, _env, _lines, _vhouse
from tests.keys.test_service import _in_transaction

PERIOD = ("--not-before", "2026-11-01", "--not-after", "2026-12-01")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _offline_env(tmp_path: Path) -> dict[str, str]:
    """Settings that would fail if anything read them: no database, no service key, bad JSON."""
    return _env(
        VH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/db.sqlite3",
        VH_SERVICE_KEY_FILE=str(tmp_path / "no-service-key.pem"),
        VH_ALLOWED_ORIGINS="not json",
    )


def _make(out: Path, env: dict[str, str], *extra: str) -> tuple[str, str]:
    made = _vhouse(
        "keys",
        "make-period-key",
        "--out",
        str(out),
        *extra,
        "--passphrase-stdin",
        env=env,
        stdin=PASSPHRASE + "\n",
    )
    assert made.returncode == 0, made.stderr
    return made.stdout, made.stderr


def _one_line_refusal(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2
    err = result.stderr
    assert err.startswith("vhouse: "), err
    assert err.count("\n") == 1, err
    assert needle in err
    assert "Traceback" not in err


def test_make_period_key_works_offline_and_never_overwrites(tmp_path: Path) -> None:
    env = _offline_env(tmp_path)
    out = tmp_path / "custody" / "2026-11.pem"
    stdout, stderr = _make(out, env)
    public_file = Path(f"{out}.pub")

    assert _mode(out) == 0o600
    assert _mode(public_file) == 0o600
    assert files.period_key_kdf(out) == (files.PERIOD_KEY_KDF, files.PERIOD_KEY_KDF_ITERATIONS)
    point = hpke.public_key_bytes(files.load_period_key(out, PASSPHRASE))
    document = json.loads(public_file.read_text("utf-8"))
    assert document == {
        "kind": files.PERIOD_PUBLIC_KIND,
        "public_key": b64.encode(point),
        "fingerprint": engine.fingerprint(point),
    }
    assert f"public key:  {b64.encode(point)}" in stdout
    assert f"fingerprint: {engine.fingerprint(point)}" in stdout
    assert PASSPHRASE not in stdout + stderr
    assert not (tmp_path / "no").exists()

    before = out.read_bytes(), public_file.read_bytes()
    again = _vhouse(
        "keys", "make-period-key", "--out", str(out), "--passphrase-stdin", env=env, stdin="x\n"
    )
    _one_line_refusal(again, "already exists")
    other = tmp_path / "other.pem"
    Path(f"{other}.pub").write_text("someone else's")
    clash = _vhouse(
        "keys", "make-period-key", "--out", str(other), "--passphrase-stdin", env=env, stdin="x\n"
    )
    _one_line_refusal(clash, "other.pem.pub already exists")
    assert not other.exists()
    assert (out.read_bytes(), public_file.read_bytes()) == before
    weak = _vhouse(
        "keys",
        "make-period-key",
        "--out",
        str(tmp_path / "weak.pem"),
        "--passphrase-stdin",
        env=env,
        stdin="short\n",
    )
    _one_line_refusal(weak, "at least 12")
    assert list(tmp_path.glob("weak.pem*")) == []


def test_generate_passphrase_is_printed_once_to_stderr(tmp_path: Path) -> None:
    out = tmp_path / "p.pem"
    public_out = tmp_path / "elsewhere" / "p.json"
    made = _vhouse(
        "keys",
        "make-period-key",
        "--out",
        str(out),
        "--public-out",
        str(public_out),
        "--generate-passphrase",
        env=_offline_env(tmp_path),
    )
    assert made.returncode == 0, made.stderr
    (passphrase,) = re.findall(r"^    (\S+)$", made.stderr, re.MULTILINE)
    assert made.stderr.count(passphrase) == 1
    assert passphrase not in made.stdout
    assert "write this down or store it in your password manager" in made.stderr
    engine.check_passphrase(passphrase)
    files.load_period_key(out, passphrase)
    assert json.loads(public_out.read_text("utf-8"))["kind"] == files.PERIOD_PUBLIC_KIND
    assert not Path(f"{out}.pub").exists()
    both = _vhouse(
        "keys",
        "make-period-key",
        "--out",
        str(tmp_path / "q.pem"),
        "--generate-passphrase",
        "--passphrase-stdin",
        env=_offline_env(tmp_path),
    )
    assert both.returncode == 2
    assert "not allowed with" in both.stderr


def test_make_period_key_then_add_period_registers_exactly_that_public_key(
    database: Database, tmp_path: Path
) -> None:
    custodian = tmp_path / "custodian"
    out = custodian / "2026-11.pem"
    _make(out, _offline_env(tmp_path))
    server = tmp_path / "server"
    server.mkdir()
    copied = server / "2026-11.pem.pub"  # only the public half travels
    copied.write_bytes(Path(f"{out}.pub").read_bytes())

    service_file = server / "service-key.pem"
    env = _env(VH_DATABASE_URL=database.url, VH_SERVICE_KEY_FILE=str(service_file))
    assert _vhouse("keys", "init", env=env).returncode == 0
    added = _vhouse("keys", "add-period", "--public", str(copied), *PERIOD, env=env)
    assert added.returncode == 0, added.stderr
    (period,) = _lines(added.stdout)

    point = hpke.public_key_bytes(files.load_period_key(out, PASSPHRASE))
    assert period["fingerprint"] == engine.fingerprint(point)
    assert (period["not_before"], period["not_after"]) == ("2026-11-01", "2026-12-01")
    served = json.loads(_vhouse("keys", "list", "--json", env=env).stdout.splitlines()[1])
    assert served["certified"] is True
    assert served["period_id"] == period["period_id"]

    (registered,) = _in_transaction(database, keys_service.list_periods)
    assert b64.decode(registered.public_key) == point
    service_public = sign.public_key_bytes(files.load_service_key(service_file))
    certs.verify_period_cert(
        service_public,
        b64.decode(registered.period_id),
        point,
        registered.not_before,
        registered.not_after,
        b64.decode(registered.certificate),
        now=registered.not_before + 1,
    )

    as_text = _vhouse(
        "keys",
        "add-period",
        "--public",
        b64.encode(point),
        "--not-before",
        "2026-12-01",
        "--not-after",
        "2027-01-01",
        env=env,
    )
    _one_line_refusal(as_text, f"already period {period['period_id']}")


BAD_PUBLIC_KEYS = [
    (b64.encode(b"\x04" + bytes(64)), "not a point on P-256"),
    (b64.encode(b"\x02" + bytes(range(32))), "not a 65-byte uncompressed P-256 point"),
    ("not base64!", "--public is not base64url"),
    ("BCO0=", "--public is not base64url"),
]


def test_add_period_refuses_what_is_not_a_public_key(database: Database, tmp_path: Path) -> None:
    env = _env(VH_DATABASE_URL=database.url, VH_SERVICE_KEY_FILE=str(tmp_path / "svc.pem"))
    assert _vhouse("keys", "init", env=env).returncode == 0
    for public, needle in BAD_PUBLIC_KEYS:
        refused = _vhouse("keys", "add-period", "--public", public, *PERIOD, env=env)
        _one_line_refusal(refused, needle)
    assert (
        len(_lines(_vhouse("keys", "list", "--json", env=env).stdout)) == 1
    )  # the service key only


def test_add_period_refuses_reversed_bounds_a_damaged_pub_and_a_private_key(
    database: Database, tmp_path: Path
) -> None:
    out, public_file = tmp_path / "p.pem", tmp_path / "p.pem.pub"
    private = hpke.generate_private_key()
    files.write_period_key(out, private, PASSPHRASE, iterations=1_000)  # fast: not about the KDF
    files.write_period_public(public_file, hpke.public_key_bytes(private))
    env = _env(VH_DATABASE_URL=database.url, VH_SERVICE_KEY_FILE=str(tmp_path / "svc.pem"))
    assert _vhouse("keys", "init", env=env).returncode == 0

    reversed_bounds = ("--not-before", "2026-12-01", "--not-after", "2026-11-01")
    refused = _vhouse("keys", "add-period", "--public", str(public_file), *reversed_bounds, env=env)
    _one_line_refusal(refused, "--not-after must be later than --not-before")
    half = _vhouse(
        "keys", "add-period", "--public", str(public_file), "--not-before", "2026-11-01", env=env
    )
    _one_line_refusal(half, "give both --not-before and --not-after")
    private = _vhouse("keys", "add-period", "--public", str(out), *PERIOD, env=env)
    _one_line_refusal(private, "is not a period public key file")

    document = json.loads(public_file.read_text("utf-8"))
    other = hpke.public_key_bytes(hpke.generate_private_key())
    damaged = tmp_path / "damaged.pub"
    damaged.write_text(json.dumps(document | {"public_key": b64.encode(other)}), "utf-8")
    mismatch = _vhouse("keys", "add-period", "--public", str(damaged), *PERIOD, env=env)
    _one_line_refusal(mismatch, "damaged")
    assert len(_lines(_vhouse("keys", "list", "--json", env=env).stdout)) == 1


def test_check_period_tells_a_strong_file_from_a_weak_one(tmp_path: Path) -> None:
    env = _offline_env(tmp_path)
    strong = tmp_path / "strong.pem"
    _make(strong, env)
    checked = _vhouse("keys", "check-period", "--file", str(strong), env=env)
    assert checked.returncode == 0, checked.stderr
    assert _lines(checked.stdout) == [
        {
            "file": str(strong),
            "algorithm": "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC",
            "iterations": files.PERIOD_KEY_KDF_ITERATIONS,
            "weak": False,
        }
    ]

    weak = tmp_path / "weak.pem"
    weak.write_bytes(
        hpke.generate_private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    flagged = _vhouse("keys", "check-period", "--file", str(weak), env=env)
    assert flagged.returncode == 1
    (report,) = _lines(flagged.stdout)
    assert report["weak"] is True
    assert report["iterations"] < files.PERIOD_KEY_MIN_KDF_ITERATIONS
    assert flagged.stderr.startswith("vhouse: WEAK: ")
    files.load_period_key(weak, PASSPHRASE)  # weak, and still usable

    foreign = _vhouse("keys", "check-period", "--file", str(Path(f"{strong}.pub")), env=env)
    _one_line_refusal(foreign, "not an encrypted PKCS#8 PEM key")
