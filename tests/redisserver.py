"""Redis for the broker tests: the shared server of ``VH_TEST_REDIS_URL``, never flushed and never
stopped (each test keeps to a channel prefix of its own), and servers of a test's own, on free
ports in a temporary directory, that the test may stop and start again."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.conftest import free_port, unavailable

SHARED_REDIS_URL = os.environ.get("VH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def shared_redis_url() -> str:
    """The shared Redis's URL; skips (fails in CI) when it does not answer."""
    try:
        with redis.Redis.from_url(SHARED_REDIS_URL, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis not reachable at {SHARED_REDIS_URL}: {type(exc).__name__}")
    return SHARED_REDIS_URL


def new_prefix() -> str:
    """A channel prefix no other test (or process) uses."""
    return f"vhtest-{secrets.token_hex(6)}:"


class RedisServer:
    """A ``redis-server`` of the test's own; ``stop`` and ``start`` keep its port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - Debian's redis-server, our arguments
                [
                    binary,
                    *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                    *("--appendonly", "no", "--dir", str(self.root)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with redis.Redis(port=self.port, socket_timeout=1) as client:
                    client.ping()
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Kill it at once: connections drop as in a crash or a network cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def own_redis(root: Path) -> Iterator[RedisServer]:
    server = RedisServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
