"""The shared pieces of the benchmarks: servers (L0 and the app, on SQLite or PostgreSQL) and the
load-generator processes; what they measure with and how they print is ``bench.readings``
(PERFORMANCE.md, "Rules of measurement").

Servers run as subprocesses pinned to the last CPU; load generators run as processes of their
own (``Generators``), pinned round robin to the other CPUs, each measuring its own CPU over the
measured window. ``generator_check`` turns those readings into the ``generator_cpu`` and
``generator_bottleneck`` fields and prints a WARNING when a generator core was above ~70 %: the
figure of such a run measures the generator, not the server.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.readings import generator_cpu, pin, run_loop, server_cpu

ROOT = Path(__file__).resolve().parent.parent
STAFF_PASSWORD = "bench password that is long enough"
PG_ADMIN_URL = os.environ.get(
    "VH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

UVICORN_FLAGS = [
    "--ws",
    "websockets-sansio",
    "--ws-max-size",
    "65536",
    "--ws-per-message-deflate",
    "false",
    "--no-access-log",
    "--no-server-header",
    "--log-level",
    "warning",
]


# ---------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# ---------------------------------------------------------------------- generator processes


def _generator_main(conn: Any, index: int, work: str, payload: Any) -> None:
    """A generator process: ``work`` names (``module:function``) a coroutine function called as
    ``function(payload, ready)``; ``ready()`` (awaited) reports the set-up done and returns when
    the parent says go. Its result (a dict) goes back with the core it ran on."""
    import importlib

    core = generator_cpu(index)
    if core is not None:
        os.sched_setaffinity(0, {core})
    module, name = work.split(":")
    function = getattr(importlib.import_module(module), name)

    async def ready() -> None:
        conn.send(("ready", None))
        go_at = await asyncio.to_thread(conn.recv)
        await asyncio.sleep(max(0.0, go_at - time.time()))

    try:
        result = run_loop(function(payload, ready))
        conn.send(("done", {**result, "cpu": core}))
    except BaseException as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


@dataclass
class Generators:
    """``len(payloads)`` generator processes running ``work`` (``module:function``); set up one
    after another (so that pairing on a shared server cannot mix their sockets), then started
    together. ``run`` returns their results and how much ``probe`` (e.g. the server's CPU
    seconds) grew over ``window`` seconds from the start."""

    work: str
    payloads: list[Any]
    procs: list[Any] = field(default_factory=list)
    conns: list[Any] = field(default_factory=list)

    def run(
        self,
        probe: Callable[[], float] = lambda: 0.0,
        window: float = 0.0,
        during: Callable[[], None] | None = None,
    ) -> tuple[list[dict[str, Any]], float]:
        """``during`` (when given) runs in this process instead of sleeping ``window``: e.g. a
        sampler of the servers that returns when the run ends."""
        ctx = multiprocessing.get_context("spawn")
        try:
            for index, payload in enumerate(self.payloads):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_generator_main, args=(child, index, self.work, payload), daemon=True
                )
                proc.start()
                self.procs.append(proc)
                self.conns.append(parent)
                self._expect(parent, "ready")
            go_at = time.time() + 0.2
            for conn in self.conns:
                conn.send(go_at)
            time.sleep(max(0.0, go_at - time.time()))
            before = probe()
            if during is not None:
                during()
            else:
                time.sleep(window)
            grown = probe() - before
            return [self._expect(conn, "done") for conn in self.conns], grown
        finally:
            for proc in self.procs:
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()

    @staticmethod
    def _expect(conn: Any, kind: str) -> Any:
        got, value = conn.recv()
        if got != kind:
            raise RuntimeError(f"a generator {got}: {value}")
        return value


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal non-zero shares."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# ---------------------------------------------------------------------- servers


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")


@contextmanager
def l0_server() -> Iterator[Server]:
    """L0, the bare relay (bench/l0.py), with the app's uvicorn settings."""
    port = free_port()
    cmd = [*pin(server_cpu()), sys.executable, "-m", "uvicorn", "bench.l0:app"]
    proc = subprocess.Popen([*cmd, "--port", str(port), *UVICORN_FLAGS], cwd=ROOT)  # noqa: S603
    try:
        wait_port(port)
        yield Server(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        proc.wait()


@dataclass
class AppDatabase:
    """A fresh, migrated database (SQLite file, or a new PostgreSQL database) and the key
    directory its staff's secrets are sealed under."""

    url: str
    tmp: Path
    key_dir: Path


@contextmanager
def app_database(kind: str = "sqlite", url: str | None = None) -> Iterator[AppDatabase]:
    from app import migrate

    tmp = Path(tempfile.mkdtemp(prefix="vh-bench-"))
    name = None
    if url is None and kind == "postgresql":
        name = f"vh_bench_{secrets.token_hex(6)}"
        run_loop(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    url = url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    try:
        migrate.upgrade(url)
        yield AppDatabase(url, tmp, tmp / "keys")
    finally:
        if name is not None:
            run_loop(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("+asyncpg", ""), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def app_env(db: AppDatabase, base: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VH_MODE": "test",
        "VH_DATABASE_URL": db.url,
        "VH_ALLOWED_ORIGINS": json.dumps([base]),
        "VH_COOKIE_SECURE": "false",
        "VH_WS_FRAMES_PER_MINUTE": "100000000",
        # Every bench socket comes from 127.0.0.1: one client bucket (issue 13's limit of 50).
        "VH_WS_SOCKETS_PER_CLIENT": "1000000",
        "VH_YOUTH_JOINS_PER_WINDOW": "100000000",
        # P-1 logs in 200 counsellors from 127.0.0.1 within seconds (the limit is 20 a minute).
        "VH_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        "VH_QUEUE_CAP": "100000",
        # The bench's young people relay without sealing keys: nothing is ever accepted.
        "VH_ACCEPT_TIMEOUT_SECONDS": "86400",
        "VH_REFUSE_WHEN_UNSTAFFED": "false",
        # The server secret the staff's sealed TOTP secrets are made under (issue 13).
        "VH_KEY_DIR": str(db.key_dir),
        **extra,
    }


def start_app(
    db: AppDatabase,
    port: int | None = None,
    on_spawn: Callable[[int], None] | None = None,
    **extra: str,
) -> Server:
    """``vhouse serve`` on ``db`` (pinned to the server CPU); ``extra`` are VH_ settings;
    ``on_spawn`` gets the process id before the server answers."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(  # noqa: S603
        [*pin(server_cpu()), sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=app_env(db, base, **extra),
    )
    if on_spawn is not None:
        on_spawn(proc.pid)
    try:
        wait_http(base + "/healthz", proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return Server(base, proc)


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@contextmanager
def app_server(db: AppDatabase, **extra: str) -> Iterator[Server]:
    server = start_app(db, None, None, **extra)
    try:
        yield server
    finally:
        stop(server)


def make_staff(db: AppDatabase, capacities: Sequence[int]) -> list[tuple[str, str, str]]:
    """One counsellor per capacity: (username, TOTP secret, enrolment code of one device)."""
    return run_loop(_make_staff(db, list(capacities)))  # type: ignore[no-any-return]


async def _make_staff(db: AppDatabase, capacities: list[int]) -> list[tuple[str, str, str]]:
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.keys import enrolment
    from app.security.secret import ensure_secret
    from app.staff import service

    server_secret = ensure_secret(db.key_dir)
    engine = make_engine(Settings(mode="test", database_url=db.url))
    out = []
    try:
        for i, capacity in enumerate(capacities):
            async with transaction(make_sessionmaker(engine)) as session:
                created = await service.add_staff(
                    session,
                    username=f"bench{i}",
                    alias=f"C{i}",
                    password=STAFF_PASSWORD,
                    role="counsellor",
                    languages=["sv"],
                    skills=["youth"],
                    capacity=capacity,
                    now=time.time(),
                    server_secret=server_secret,
                )
                issued = await enrolment.issue(
                    session,
                    server_secret=server_secret,
                    staff_id=created.staff_id,
                    now=time.time(),
                    lifetime=3600,
                )
            out.append((f"bench{i}", created.totp_secret, issued.code))
    finally:
        await engine.dispose()
    return out


def metric(base_url: str, name: str) -> float | None:
    """One unlabelled sample of a /metrics listener (``VH_METRICS_BIND``)."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as resp:  # noqa: S310
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None
