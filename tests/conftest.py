"""Shared fixtures: databases (SQLite file and PostgreSQL) and real uvicorn servers.

Service-backed tests run on SQLite always and on PostgreSQL when it is reachable. Outside CI an
unreachable PostgreSQL skips those cases with the reason; under CI (``CI=true``) it fails them,
so CI never silently skips the service-backed tests.

``VH_TEST_STACK`` chooses the stack those tests run on (``scripts/check`` runs both passes, one
after the other):

- ``embedded``: the SQLite file and the in-process broker, what ``vhouse serve`` runs by default.
  Every test runs in this pass but those marked ``redis``.
- ``scaled``: PostgreSQL and Redis (every server gets ``VH_BROKER_URL`` of the shared Redis),
  the production topology of DESIGN.md §5. Only the stack-dependent tests run in this pass:
  those whose database fixture is chosen by the stack, every browser test but those of the
  pages alone (marked ``stack_free``: layout, the quick exit's keys, browser crypto), and the
  tests marked ``redis`` (several processes, Redis outages: PostgreSQL and Redis by their own
  choice). Tests that run no server, or that name their database themselves, ran in the
  embedded pass.
- unset: both databases with the in-process broker, in one pass (a developer's quick check).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from app.config import Settings
from app.crypto import sign
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import enrolment
from app.keys import files as keys_files
from app.migrate import upgrade
from app.security.secret import ensure_secret
from app.security.totp import current_code
from app.staff import service as staff_service

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "VH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
T = TypeVar("T")
STAFF_PASSWORD = "correct horse battery staple 42"
STACK = os.environ.get("VH_TEST_STACK", "")
if STACK not in ("", "embedded", "scaled"):
    raise RuntimeError(f"VH_TEST_STACK must be embedded or scaled, not {STACK!r}")
KINDS = ("sqlite", "postgresql")


def stack_kinds(kinds: tuple[str, ...] = KINDS) -> list[str]:
    """The database kinds a stack-chosen fixture runs on: ``kinds`` when no stack is chosen,
    SQLite in the embedded pass and PostgreSQL in the scaled one. A fixture that asked for SQLite
    only because its tests do not depend on the database runs on PostgreSQL there too."""
    if STACK == "embedded":
        return [kind for kind in kinds if kind == "sqlite"]
    if STACK == "scaled":
        return ["postgresql"]
    return list(kinds)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass keeps its tests (see the module's docstring): the tests marked ``redis`` run on
    PostgreSQL and Redis by their own choice, in the scaled pass; the scaled pass keeps only the
    stack-dependent tests besides."""
    if not STACK:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_stack = any(value in KINDS for value in params.values())
        in_browser = item.nodeid.startswith("tests/e2e/") and not item.get_closest_marker(
            "stack_free"
        )
        scaled = item.get_closest_marker("redis") is not None
        if STACK == "scaled":
            keep = on_stack or in_browser or scaled
        else:
            keep = not scaled
        (kept if keep else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    if STACK == "embedded":
        return "stack: embedded (SQLite + in-process broker)"
    if STACK == "scaled":
        return (
            "stack: scaled (PostgreSQL + Redis); stack-independent tests ran in the embedded pass"
        )
    return "stack: none chosen (SQLite and PostgreSQL, in-process broker)"


def unavailable(reason: str) -> None:
    """Skip outside CI, fail in CI: a missing service must never pass silently there."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------------- databases


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def run_sync(coroutine: Coroutine[object, object, T]) -> T:
    """``asyncio.run`` from any thread: in a thread of its own where a loop already runs (the
    browser tests' thread, where Playwright's sync API keeps its loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Database:
    kind: str
    url: str
    path: Path | None = None  # the SQLite file
    #: The key directory whose server secret seals the staff's TOTP secrets (issue 13): the
    #: servers on this database and the fixtures that add staff to it use the same one.
    key_dir: Path | None = None

    def keys(self) -> Path:
        """The key directory, chosen now (a fresh temporary one) if none was."""
        if self.key_dir is None:
            self.key_dir = Path(tempfile.mkdtemp(prefix="vh-keys-")) / "keys"
        return self.key_dir

    def server_secret(self) -> bytes:
        return ensure_secret(self.keys())

    def row(self, sql: str, *args: object) -> tuple[object, ...] | None:
        """The first row of ``sql`` (``?`` placeholders) on either kind of database, from any
        thread: the browser tests call it where Playwright's loop runs (no ``asyncio.run``)."""
        if self.path is not None:
            with sqlite3.connect(self.path) as db:
                found = db.execute(sql, args).fetchone()
            return None if found is None else tuple(found)
        parts = sql.split("?")
        numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))

        async def fetch() -> tuple[object, ...] | None:
            import asyncpg

            conn = await asyncpg.connect(_asyncpg_dsn(self.url), timeout=5)
            try:
                record = await conn.fetchrow(numbered, *args)
            finally:
                await conn.close()
            return None if record is None else tuple(record)

        return run_sync(fetch())

    def settings(self, **overrides: object) -> Settings:
        overrides.setdefault("key_dir", self.keys())
        return Settings(mode="test", database_url=self.url, cookie_secure=False, **overrides)  # type: ignore[arg-type]


def _new_postgres_database() -> tuple[str, str]:
    name = f"vh_test_{secrets.token_hex(6)}"
    try:
        run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_postgres_database(name: str) -> None:
    run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def database_of(kind: str, tmp: Path) -> Iterator[Database]:
    """An empty database of ``kind`` that lives as long as the ``with`` block."""
    if kind == "sqlite":
        path = tmp / "vh.sqlite3"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", path, tmp / "buckets")
        return
    name, url = _new_postgres_database()
    try:
        yield Database("postgresql", url, key_dir=tmp / "buckets")
    finally:
        _drop_postgres_database(name)


@pytest.fixture(params=stack_kinds())
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind (no tables)."""
    with database_of(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def database(empty_database: Database) -> Database:
    """A migrated database of each kind."""
    upgrade(empty_database.url)
    return empty_database


# ---------------------------------------------------------------------- staff


@dataclass
class StaffAccount:
    username: str
    password: str
    totp_secret: str
    staff_id: str

    def code(self, at: float | None = None) -> str:
        return current_code(self.totp_secret, time.time() if at is None else at)


async def _create_staff(
    database: Database, username: str, alias: str, **kw: object
) -> StaffAccount:
    server_secret = database.server_secret()
    engine = make_engine(Settings(mode="test", database_url=database.url))
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            created = await staff_service.add_staff(
                session,
                username=username,
                alias=alias,
                password=STAFF_PASSWORD,
                role=kw.get("role", "counsellor"),  # type: ignore[arg-type]
                languages=kw.get("languages", ["sv", "en"]),  # type: ignore[arg-type]
                skills=kw.get("skills", ["youth", "professional"]),  # type: ignore[arg-type]
                capacity=kw.get("capacity", 2),  # type: ignore[arg-type]
                now=time.time(),
                server_secret=server_secret,
            )
    finally:
        await engine.dispose()
    return StaffAccount(username, STAFF_PASSWORD, created.totp_secret, created.staff_id)


async def _enrol_code(database: Database, staff_id: str) -> str:
    """A new enrolment code for one device of ``staff_id``, made as ``vhouse staff enrol``
    makes it (``app.keys.enrolment.issue`` under the servers' key directory): the fixtures
    that register devices go through the same second factor a counsellor does."""
    server_secret = database.server_secret()
    engine = make_engine(Settings(mode="test", database_url=database.url))
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            issued = await enrolment.issue(
                session,
                server_secret=server_secret,
                staff_id=staff_id,
                now=time.time(),
                lifetime=15 * 60,
            )
    finally:
        await engine.dispose()
    return issued.code


def enrol_code(database: Database, staff_id: str) -> str:
    return run_sync(_enrol_code(database, staff_id))


def create_staff(
    database: Database, username: str, alias: str = "Sara", **kw: object
) -> StaffAccount:
    return run_sync(_create_staff(database, username, alias, **kw))


# ---------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A real ``vhouse serve`` process (uvicorn) on a free port."""

    database: Database
    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)
    #: The service public key (65 bytes) clients pin, and the file holding its private half.
    service_key: bytes = b""
    service_key_file: Path | None = None

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _stack_env() -> dict[str, str]:
    """The scaled pass's servers publish through the shared Redis (each under its own prefix)."""
    if STACK != "scaled":
        return {}
    from tests.redisserver import shared_redis_url  # it imports this module

    return {"VH_BROKER_URL": shared_redis_url()}


class PortTaken(RuntimeError):
    """The chosen port was taken between choosing it and binding it (another test worker)."""


def start_server(
    database: Database,
    tmp_path: Path,
    *,
    migrate: bool = True,
    port: int | None = None,
    key_file: Path | None = None,
    args: tuple[str, ...] = (),
    tls: ssl.SSLContext | None = None,
    start_within: float = 60,  # a loaded machine (two test workers, Chromium) starts slowly
    **env: str,
) -> Server:
    """A server on ``database``; ``port`` and an existing ``key_file`` (and the key directory
    beside it) make it the same service again, as ``restart_server`` does. ``args`` go to
    ``vhouse serve``; with ``tls`` (the client's context) it is an ``https://`` server. A free
    port chosen here that another process takes first is chosen again."""
    for _ in range(4 if port is None else 1):
        try:
            return _start_server(
                database,
                tmp_path,
                migrate=migrate,
                port=port or free_port(),
                key_file=key_file,
                args=args,
                tls=tls,
                start_within=start_within,
                env=env,
            )
        except PortTaken:
            if port is not None:
                raise
    raise RuntimeError("no free port held long enough for a server to bind it")


def _start_server(
    database: Database,
    tmp_path: Path,
    *,
    migrate: bool,
    port: int,
    key_file: Path | None,
    args: tuple[str, ...],
    tls: ssl.SSLContext | None,
    start_within: float,
    env: dict[str, str],
) -> Server:
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    log_path = tmp_path / f"server-{port}.log"
    for n in range(2, 100):  # a restart keeps the earlier process's log
        if not log_path.exists():
            break
        log_path = tmp_path / f"server-{port}-{n}.log"
    if key_file is None:
        key_file = tmp_path / f"service-{port}.key"
        service_key = sign.public_key_bytes(keys_files.create_service_key(key_file))
    else:
        service_key = sign.public_key_bytes(keys_files.load_service_key(key_file))
    if database.key_dir is None:  # where the service key's bucket keys would be anyway
        database.key_dir = key_file.parent / "buckets"
    full_env = {
        **os.environ,
        "VH_MODE": "test",
        "VH_SERVICE_KEY_FILE": str(key_file),
        "VH_DATABASE_URL": database.url,
        "VH_ALLOWED_ORIGINS": f'["{base_url}"]',
        "VH_COOKIE_SECURE": "false",
        "VH_WS_FRAMES_PER_MINUTE": "100000",
        "VH_YOUTH_JOINS_PER_WINDOW": "100000",
        # Every test logs in from 127.0.0.1: the per-address login limit is tested on its own
        # (tests/security/test_login_limits.py).
        "VH_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        # Most tests let young people queue before a counsellor goes on duty; the entry
        # decision's "no one on duty" is tested on its own (tests/triage/test_entry_socket.py).
        "VH_REFUSE_WHEN_UNSTAFFED": "false",
        # Relay tests chat with clients that never seal keys (so nothing is ever accepted): the
        # acceptance timeout is tested on its own (tests/triage/test_fairness.py).
        "VH_ACCEPT_TIMEOUT_SECONDS": "3600",
        # Servers that share a Redis (VH_BROKER_URL=redis://…) keep to channels of their own:
        # ticket ids are row numbers, the same in every test's database.
        "VH_BROKER_PREFIX": f"vhtest-{secrets.token_hex(6)}:",
        "VH_KEY_DIR": str(database.key_dir),
        **_stack_env(),
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                *("-m", "app.cli", "serve", "--port", str(port)),
                *(["--migrate"] if migrate else []),
                *args,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(database, base_url, log_path, process, env, service_key, key_file)
    deadline = time.monotonic() + start_within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if f"('127.0.0.1', {port}): address already in use" in server.log():
                raise PortTaken(port)  # uvicorn's own bind, not another listener's
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1, context=tls) as r:  # noqa: S310
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start:\n{server.log()}")


def restart_server(old: Server) -> Server:
    """The same service again after ``old`` ended (SIGTERM or SIGKILL): a new process on its
    port, database, settings, service key and key directory (server secret, bucket keys)."""
    assert not old.alive(), "stop the old process first"
    assert old.service_key_file is not None
    port = int(old.base_url.rsplit(":", 1)[1])
    return start_server(
        old.database,
        old.log_path.parent,
        migrate=False,
        port=port,
        key_file=old.service_key_file,
        **old.env,
    )


@pytest.fixture
def server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    """A real server on a fresh database of each kind (migrated by ``serve --migrate``)."""
    srv = start_server(empty_database, tmp_path)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def counsellor(server: Server) -> StaffAccount:
    return create_staff(server.database, "counsellor1", "Sara")
