"""The SQLite writer's own wait for the write lock (``app/chat/store.py`` ``_SqliteWriter``):
it takes the lock as soon as another transaction ends, instead of SQLite's busy handler sleeping
up to tens of milliseconds, and still gives up after its deadline. A plain SQLite file with the
envelopes table alone; no server."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from app.chat import store
from app.chat.store import _SqliteWriter

ROW = {"conv_id": "c", "seg": 0, "role": "Y", "inst": "i", "seq": 1, "ct": "x", "sig": None}


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "envelopes.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE envelopes (conv_id TEXT, seg INT, role TEXT, inst TEXT, seq INT,"
            " ct TEXT, sig TEXT, PRIMARY KEY (conv_id, seg, role, inst, seq))"
        )
    return path


def _hold_lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection holds the write lock for ``seconds`` (a heartbeat, a join)."""
    held = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    return thread


def test_a_batch_waits_for_another_transaction_and_commits_after_it(tmp_path: Path) -> None:
    path = _file(tmp_path)
    writer = _SqliteWriter(str(path))
    holder = _hold_lock(path, 0.2)
    start = time.monotonic()
    inserted = writer._insert([ROW])  # busy_timeout is 0: without its own wait this raises
    waited = time.monotonic() - start
    holder.join()
    assert inserted == {("c", 0, "Y", "i", 1)}
    assert waited >= 0.15  # it did wait for the other transaction
    assert writer._insert([ROW]) == set()  # stored once


def test_a_lock_held_past_the_deadline_fails_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_LOCK_WAIT_SECONDS", 0.05)
    path = _file(tmp_path)
    writer = _SqliteWriter(str(path))
    holder = _hold_lock(path, 0.5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        writer._insert([ROW])
    holder.join()
    assert writer._insert([ROW]) == {("c", 0, "Y", "i", 1)}  # and works again afterwards
