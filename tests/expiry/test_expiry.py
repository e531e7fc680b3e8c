"""Expiry by key destruction (CRYPTO.md §6, SAFETY S-15/S-18, SECURITY R-19) on a real server,
SQLite and PostgreSQL, with the purge run beside it under an injected clock (no sleeping).

The chats are real: the Python client seals to a certified device and to a period key, and
files a return code. A thief's copy of the database is the stored strings themselves (and, on
SQLite, a file copy): after the bucket key is destroyed no key they could hold opens them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.chat.retention import RetentionPolicy
from app.chat.sealing import device_place, period_place, return_place
from app.crypto import bucket, certs, hpke, returncode
from app.kit import b64
from tests.conftest import Server
from tests.expiry.world import (
    DAY,
    Ended,
    chat_with_every_key,
    copy_sqlite,
    purge,
    raw_sqlite,
    rows,
    sealer_of,
    vacuum_full,
)
from tests.support import Harness, call

TABLES = ("envelopes", "segments", "return_wraps", "history_grants", "conversations", "tickets")


async def _counts(server: Server) -> dict[str, int]:
    return {t: (await rows(server, f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}  # noqa: S608


async def _lookup(server: Server, code: str) -> tuple[int, dict[str, object]]:
    locator = b64.encode(returncode.locator(code))
    return await call(server, "POST", "/api/youth/return", {"locator": locator})


def _payload(stored: str) -> bytes:
    return b64.decode(stored.split(".")[2])


def _every_key_fails(
    ended: Ended, wrap_c: str, wrap_o: str, wrap_r: str, salt: str, nonce: str
) -> None:
    """The thief holds the period key, the counsellor's device key and the return code, and
    the stored strings: nothing they can do yields the segment key."""
    conv = b64.decode(ended.conv)
    assert ended.device.device_id is not None
    attempts = [
        lambda: certs.open_segment_key_as_period(
            ended.period_key, _payload(wrap_o), conv, 0, b64.decode(ended.period_id)
        ),
        lambda: certs.open_segment_key_as_device(
            ended.device.hpke_key, _payload(wrap_c), conv, 0, b64.decode(ended.device.device_id)
        ),
        lambda: returncode.unwrap_with_code(
            returncode.kek(ended.code, b64.decode(salt)),
            b64.decode(nonce),
            _payload(wrap_r),
            conv,
            0,
        ),
    ]
    for attempt in attempts:
        with pytest.raises((hpke.HpkeError, returncode.ReturnCodeError, ValueError)):
            attempt()


_ALL_ROWS = " UNION ALL ".join(f"SELECT row_to_json(t)::text FROM {t} t" for t in TABLES)  # noqa: S608


async def _pg_physical(server: Server, tables: tuple[str, ...]) -> bytes:
    """The bytes of these tables' files on disk (the test runs where the cluster's files are)."""
    data_dir = (await rows(server, "SHOW data_directory"))[0][0]
    found = b""
    for table in tables:
        rel = (await rows(server, f"SELECT pg_relation_filepath('{table}')"))[0][0]
        main = Path(data_dir) / rel
        assert main.exists(), f"cannot see {main}"
        for path in main.parent.glob(main.name + "*"):  # the relation and its forks
            found += path.read_bytes()
    return found


async def test_readable_before_expiry_then_gone_even_from_a_copy(
    server: Server, tmp_path: Path
) -> None:
    """R-19: Readable before expiry then gone even from a copy."""
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
    ((wrap_c, wrap_o),) = await rows(
        server, "SELECT wrap_c, wrap_o FROM segments WHERE conv_id = :c", c=ended.conv
    )
    ((wrap_r, salt, nonce),) = await rows(
        server, "SELECT wrap, salt, nonce FROM return_wraps WHERE conv_id = :c", c=ended.conv
    )
    for sealed in (wrap_c, wrap_o, wrap_r):
        assert bucket.is_sealed(sealed), "every stored wrap is bucket-sealed"
    week = bucket.week_of_sealed(wrap_o)
    backup = copy_sqlite(server, tmp_path / "backup") if server.database.kind == "sqlite" else None

    # The copy is readable while the bucket key exists: the period key opens it (the control).
    sealer = sealer_of(server)
    opened = sealer.open(wrap_o, period_place(ended.conv, 0))
    assert opened is not None
    key = certs.open_segment_key_as_period(
        ended.period_key, b64.decode(opened), b64.decode(ended.conv), 0, b64.decode(ended.period_id)
    )
    assert key == ended.youth_key

    # Before expiry: a purge deletes nothing, the return code reads the chat back.
    now = time.time()
    early = await purge(server, now)
    assert early.deleted_conversations == 0
    assert early.settled == 1
    status, body = await _lookup(server, ended.code)
    assert status == 200, body
    ((expires_at,),) = await rows(
        server, "SELECT expires_at FROM conversations WHERE id = :c", c=ended.conv
    )
    assert now + 29.9 * DAY < expires_at <= now + 30 * DAY + 60
    # The visit keeps it a full retention from now (it already had that: no change).
    before = await _counts(server)

    # After expiry: gone, and a second purge changes nothing.
    later = expires_at + 1
    first = await purge(server, later)
    assert first.deleted_conversations == 1
    assert first.deleted_tickets == 1
    after = await _counts(server)
    assert after == {
        **before,
        "envelopes": 0,
        "segments": 0,
        "return_wraps": 0,
        "conversations": 0,
        "tickets": 0,
    }
    second = await purge(server, later)
    assert (second.deleted_conversations, second.deleted_tickets, second.settled) == (0, 0, 0)
    assert await _counts(server) == after
    status, body = await _lookup(server, ended.code)
    assert status == 404, body
    assert body["error"]["code"] == "not_found"
    # The anonymous aggregates survive the rows.
    ((served,),) = await rows(server, "SELECT sum(served) FROM queue_stats")
    assert served == 1

    # Nothing of it is left in the database's bytes.
    if server.database.kind == "sqlite":
        data = raw_sqlite(server)
    else:
        await vacuum_full(server, TABLES)
        data = await _pg_physical(server, TABLES)
        data += json.dumps(await rows(server, _ALL_ROWS)).encode()
    for value in ended.stored:
        assert value.encode() not in data

    # The bucket key goes at the end of its week plus the grace; the purge records it.
    gone_at = RetentionPolicy().destroy_after(week)
    assert gone_at >= expires_at, "a bucket key never goes before its conversations expire"
    not_yet = await purge(server, gone_at - 1)
    assert week not in not_yet.destroyed_buckets
    assert sealer.keys.get(week) is not None
    done = await purge(server, gone_at + 1)
    assert week in done.destroyed_buckets
    assert sealer.keys.get(week) is None
    assert not (sealer.keys.directory / f"{week}.key").exists()
    audited = await rows(
        server, "SELECT detail FROM audit_log WHERE action = 'keys.bucket_destroyed'"
    )
    assert {"week": week} in [json.loads(d) for (d,) in audited]

    # The thief's copy, with every key they could have, yields no segment key any more.
    assert sealer.open(wrap_o, period_place(ended.conv, 0)) is None
    assert sealer.open(wrap_c, device_place(ended.conv, 0)) is None
    assert sealer.open(wrap_r, return_place(ended.conv, 0)) is None
    _every_key_fails(ended, wrap_c, wrap_o, wrap_r, salt, nonce)
    if backup is not None:  # the file copy did hold them: it is a real backup
        copied = b"".join(p.read_bytes() for p in backup.parent.iterdir())
        assert wrap_o.encode() in copied
