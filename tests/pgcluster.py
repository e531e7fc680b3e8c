"""A PostgreSQL cluster of a test's own, on its own port, that the test may stop and start.

Outage tests stop the database under a running server; they must never stop the shared server
of ``VH_TEST_POSTGRES_URL``. This runs Debian's ``initdb``/``pg_ctl`` as the ``postgres`` user
(PostgreSQL refuses to run as root) into a temporary directory, with trust authentication on
loopback and its socket inside that directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port, unavailable


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PgCluster:
    def __init__(self, root: Path, bindir: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.bindir = bindir
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop at once (``-m immediate``): connections drop as in a crash or a network cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


@contextmanager
def pg_cluster(tmp_path: Path) -> Iterator[PgCluster]:
    """A started cluster of this test's own; stopped and removed afterwards."""
    bindir = _bin_dir()
    if bindir is None or (shutil.which("runuser") is None and os.geteuid() == 0):
        unavailable("PostgreSQL server binaries (apt-get install postgresql) are missing")
        raise AssertionError("unreachable")
    root = Path(f"/tmp/vh-pg-{os.getpid()}-{tmp_path.name}")  # noqa: S108 - socket path < 108
    cluster = PgCluster(root, bindir)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by the test
        shutil.rmtree(root, ignore_errors=True)
