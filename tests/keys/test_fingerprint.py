"""The fingerprint procedure of docs/THREAT-MODEL.md §7: the command and the documented one-liners
give the fingerprint ``vhouse keys init`` printed, and a different key does not match."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from app.crypto import sign
from app.keys import engine, files
from app.kit import b64
from tests.keys.test_cli import _env, _vhouse

THREAT_MODEL = Path(__file__).resolve().parents[2] / "docs" / "THREAT-MODEL.md"


def _printed_fingerprint(stdout: str) -> str:
    match = re.search(r"^fingerprint: ([0-9a-f ]+)$", stdout, re.MULTILINE)
    assert match, stdout
    return match[1]


def test_fingerprint_of_the_file_and_of_the_public_key_agree_with_init(tmp_path: Path) -> None:
    path = tmp_path / "service-key.pem"
    created = _vhouse("keys", "init", "--file", str(path), env=_env())
    published = _printed_fingerprint(created.stdout)
    public = b64.encode(sign.public_key_bytes(files.load_service_key(path)))

    from_file = _vhouse("keys", "fingerprint", env=_env(VH_SERVICE_KEY_FILE=str(path)))
    assert from_file.returncode == 0, from_file.stderr
    assert _printed_fingerprint(from_file.stdout) == published

    checked = _vhouse(
        "keys", "fingerprint", "--public", public, "--expect", published.upper(), env=_env()
    )
    assert checked.returncode == 0, checked.stderr
    assert "matches the expected fingerprint" in checked.stdout

    compact = published.replace(" ", "")
    again = _vhouse("keys", "fingerprint", "--public", public, "--expect", compact, env=_env())
    assert again.returncode == 0, again.stderr


def test_a_different_or_malformed_key_does_not_match(tmp_path: Path) -> None:
    path = tmp_path / "service-key.pem"
    published = _printed_fingerprint(
        _vhouse("keys", "init", "--file", str(path), env=_env()).stdout
    )
    other = b64.encode(sign.public_key_bytes(sign.generate_private_key()))
    differs = _vhouse("keys", "fingerprint", "--public", other, "--expect", published, env=_env())
    assert differs.returncode == 1
    assert "DIFFERENT" in differs.stderr
    prefix_only = _vhouse(
        "keys", "fingerprint", "--public", other, "--expect", published[:9], env=_env()
    )
    assert prefix_only.returncode == 1

    off_curve = b64.encode(b"\x04" + bytes(64))
    for bad in (off_curve, "not base64!", b64.encode(b"\x04" + bytes(10))):
        refused = _vhouse("keys", "fingerprint", "--public", bad, env=_env())
        assert refused.returncode == 2, bad
        assert refused.stdout == ""


def _documented_one_liners() -> list[str]:
    """The ``python3 -c`` programs of the ``curl … | python3 -c '…'`` lines in §7."""
    programs = []
    for line in THREAT_MODEL.read_text("utf-8").splitlines():
        if line.startswith("curl -s ") and "| python3 -c " in line:
            argv = shlex.split(line.split("| ", 1)[1])
            assert argv[:2] == ["python3", "-c"]
            programs.append(argv[2])
    return programs


def test_the_documented_one_liners_compute_the_same_fingerprint() -> None:
    api_program, page_program = _documented_one_liners()
    key = sign.generate_private_key()
    public = b64.encode(sign.public_key_bytes(key))
    expected = engine.fingerprint(sign.public_key_bytes(key))
    api_answer = json.dumps({"service_key": public, "fingerprint": "forged", "period": None})
    page = (
        '<!doctype html><html lang="sv"><head><meta charset="utf-8">\n'
        f'<meta name="vh-service-key" content="{public}">\n<title>Hus</title>'
    )
    # The page program reads the meta tag as the templates write it.
    for template in ("base_youth.html", "console.html"):
        text = (THREAT_MODEL.parents[1] / "frontend" / "templates" / template).read_text("utf-8")
        assert '<meta name="vh-service-key" content="{{ service_key }}">' in text, template
    for program, stdin in ((api_program, api_answer), (page_program, page)):
        ran = subprocess.run(  # noqa: S603 - the documented program, on our own input
            [sys.executable, "-c", program], input=stdin, capture_output=True, text=True, check=True
        )
        assert ran.stdout == expected + "\n"
