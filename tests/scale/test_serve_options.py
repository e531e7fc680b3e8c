"""``vhouse serve`` options for production: TLS terminated by the server itself
(``--tls-cert``/``--tls-key`` or ``VH_TLS_*``) and several worker processes (``--workers``).

The TLS server gets a self-signed certificate made here with ``cryptography``; the clients
trust exactly that certificate. The workers run on PostgreSQL and Redis, the only stores they
can share; on SQLite or the in-process broker ``--workers 2`` is refused in one line.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.client import YouthClient
from app.config import Settings
from app.probe import probe
from app.server import tls_context, workers_refusal
from tests.conftest import ROOT, Database, database_of, start_server
from tests.redisserver import new_prefix, shared_redis_url
from tests.support import Harness, exchange


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files (the key 0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def vhouse(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, "VH_MODE": "test", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# ---------------------------------------------------------------------- TLS


async def test_https_and_wss_without_a_proxy(tmp_path: Path) -> None:
    """The server terminates TLS itself: /healthz over https, a young person's join over wss,
    TLS 1.2 still accepted, and nothing but the certificate trusted here is needed."""
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    with database_of("sqlite", tmp_path) as database:
        server = start_server(
            database,
            tmp_path,
            args=("--tls-cert", str(cert), "--tls-key", str(key)),
            tls=trust,
            VH_COOKIE_SECURE="true",
        )
        try:
            assert server.base_url.startswith("https://")
            with urllib.request.urlopen(server.base_url + "/healthz", context=trust) as r:  # noqa: S310
                assert r.status == 200
                assert r.fp.raw._sock.version() == "TLSv1.3"  # type: ignore[union-attr]
            only_12 = ssl.create_default_context(cafile=str(cert))
            only_12.maximum_version = ssl.TLSVersion.TLSv1_2
            with urllib.request.urlopen(server.base_url + "/healthz", context=only_12) as r:  # noqa: S310
                assert r.status == 200
            # Plain http on the TLS port gets nothing served.
            plain = server.base_url.replace("https://", "http://") + "/healthz"
            with pytest.raises(OSError, match=r"Remote end closed|reset|aborted"):
                urllib.request.urlopen(plain, timeout=5)  # noqa: S310

            # The image's health check (app/probe.py) speaks https here.
            port = int(server.base_url.rsplit(":", 1)[1])
            assert probe(port, str(cert)) is True
            assert probe(port, None) is False  # plain http to a TLS port: not ready

            youth = YouthClient(server.base_url, ssl_context=trust)
            await youth.connect()
            try:
                ticket = await youth.join(language="sv")
                assert ticket
                assert (await youth.expect("position"))["position"] >= 1
            finally:
                await youth.close()
            assert "Traceback" not in server.log(), server.log()
        finally:
            server.stop()


def test_the_tls_context_refuses_anything_before_tls_1_2(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)

    def default() -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.load_cert_chain(cert, key)
        return context

    assert tls_context(None, default).minimum_version == ssl.TLSVersion.TLSv1_2  # type: ignore[arg-type]


def test_tls_settings_need_both_files_readable_and_secure_cookies(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with pytest.raises(ValueError, match="both VH_TLS_CERT_FILE and VH_TLS_KEY_FILE"):
        Settings(mode="test", tls_cert_file=cert)
    with pytest.raises(ValueError, match=r"missing\.key"):
        Settings(mode="test", tls_cert_file=cert, tls_key_file=tmp_path / "missing.key")
    (tmp_path / "not.pem").write_text("hello")
    with pytest.raises(ValueError, match="not a PEM file"):
        Settings(mode="test", tls_cert_file=tmp_path / "not.pem", tls_key_file=key)
    served = Settings(mode="test", tls_cert_file=cert, tls_key_file=key, cookie_secure=False)
    with pytest.raises(ValueError, match="VH_COOKIE_SECURE must stay on when serving TLS"):
        served.check_serving()
    assert Settings(mode="test", tls_cert_file=cert, tls_key_file=key).serves_tls


def test_serve_refuses_a_certificate_without_its_key_in_one_line(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'vh.sqlite3'}"
    done = vhouse("serve", "--tls-cert", str(cert), VH_DATABASE_URL=url)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vhouse: TLS needs both VH_TLS_CERT_FILE and VH_TLS_KEY_FILE, or neither"
    ]


# ---------------------------------------------------------------------- workers


def _workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes (multiprocessing spawn children) of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def test_several_workers_are_refused_on_sqlite_and_the_in_process_broker(
    tmp_path: Path,
) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'vh.sqlite3'}"
    done = vhouse("serve", "--workers", "2", VH_DATABASE_URL=sqlite)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("vhouse: --workers 2 needs PostgreSQL (VH_DATABASE_URL) and Redis")
    postgres = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    assert workers_refusal(Settings(mode="test", database_url=postgres), 2) is not None
    redis = {"database_url": postgres, "broker_url": "redis://127.0.0.1:6379/0"}
    assert workers_refusal(Settings(mode="test", **redis), 2) is None  # type: ignore[arg-type]
    assert workers_refusal(Settings(mode="test"), 1) is None
    assert workers_refusal(Settings(mode="test"), 0) == "--workers must be at least 1"


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Database]:
    with database_of("postgresql", tmp_path) as database:
        yield database


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_two_workers_on_postgresql_and_redis_serve_a_chat(
    postgres: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: bool
) -> None:
    """``--workers 2``: two worker processes share the port; a young person and a counsellor on
    separate connections (whichever workers took them) chat, over plain http or with every
    worker terminating TLS (staff login with Secure cookies, wss); SIGTERM stops every worker."""
    args: tuple[str, ...] = ("--workers", "2")
    trust = None
    env = {"VH_BROKER_URL": shared_redis_url(), "VH_BROKER_PREFIX": new_prefix()}
    if tls:
        cert, key = self_signed(tmp_path)
        args += ("--tls-cert", str(cert), "--tls-key", str(key))
        trust = ssl.create_default_context(cafile=str(cert))
        env["VH_COOKIE_SECURE"] = "true"
        # The test's clients (urllib for the login, websockets for wss) trust this certificate.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    # Two workers import the whole app at once: slow on a busy two-core machine.
    server = start_server(postgres, tmp_path, args=args, tls=trust, start_within=120, **env)
    try:
        deadline = time.monotonic() + 120
        while len(workers := _workers_of(server.process.pid)) < 2:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        assert len(workers) == 2
        async with Harness(server) as h:
            chat = await h.chat(envelopes=3)
            await exchange(chat, 3)
            await h.assert_unharmed(chat)
            if tls:
                assert chat.staff.credentials is not None
                assert chat.staff.credentials.cookie_name == "__Host-vh_staff"
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert "Traceback" not in server.log(), server.log()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), server.log()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
