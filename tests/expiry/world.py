"""A real chat on a real server with every key there is (device, period, return code), and the
purge run beside it with an injected clock (CRYPTO.md §6)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.chat.retention import RetentionPolicy
from app.chat.sealing import Sealer
from app.client import CounsellorClient, YouthClient
from app.crypto import returncode
from app.db import make_engine, make_sessionmaker, transaction
from app.expiry.purge import Purge, PurgeReport
from app.keys import files
from app.keys import service as keys_service
from app.keys.bucketkeys import BucketKeys
from app.kit import b64
from tests.conftest import Server
from tests.support import Harness, new_staff, unique_language

PASSPHRASE = "correct horse battery staple"
DAY = 86400.0


async def register_period(server: Server, out: Path) -> tuple[ec.EllipticCurvePrivateKey, str]:
    assert server.service_key_file is not None
    service_key = files.load_service_key(server.service_key_file)
    engine = make_engine(server.database.settings())
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            period = await keys_service.new_period(
                session,
                service_key=service_key,
                out=out,
                passphrase=PASSPHRASE,
                not_before=int(time.time()) - 86400,
                not_after=int(time.time()) + 60 * 86400,
                now=time.time(),
            )
    finally:
        await engine.dispose()
    return files.load_period_key(out, PASSPHRASE), period.period_id


def sealer_of(server: Server, **policy: Any) -> Sealer:
    """The server's own bucket keys (``buckets/`` beside its service key), for the purge."""
    assert server.service_key_file is not None
    return Sealer(BucketKeys(server.service_key_file.parent / "buckets"), RetentionPolicy(**policy))


async def purge(server: Server, now: float, **policy: Any) -> PurgeReport:
    engine = make_engine(server.database.settings())
    try:
        runner = Purge(
            make_sessionmaker(engine), engine, sealer_of(server, **policy), timezone="UTC"
        )
        return await runner.run(now)
    finally:
        await engine.dispose()


async def rows(server: Server, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(server.database.url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(query), params)).all()]
    finally:
        await engine.dispose()


async def vacuum_full(server: Server, tables: tuple[str, ...]) -> None:
    """PostgreSQL: rewrite these tables, so that deleted rows leave their files."""
    engine = create_async_engine(server.database.url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for table in tables:
                await conn.execute(text(f"VACUUM FULL {table}"))
    finally:
        await engine.dispose()


@dataclass
class Ended:
    """A chat that has ended, with everything a thief of a backup could also hold."""

    conv: str
    code: str
    youth_key: bytes
    device: Any  # the counsellor's DeviceKeys
    period_key: ec.EllipticCurvePrivateKey
    period_id: str
    phrase: str
    #: The stored strings of this chat: envelope ciphertexts and every wrap, as stored.
    stored: list[str]
    staff: CounsellorClient
    youth: YouthClient


async def return_code_frame(code: str, key: bytes, conv: str, seg: int = 0) -> dict[str, Any]:
    salt, nonce = os.urandom(16), os.urandom(12)
    wrap = returncode.wrap_with_code(returncode.kek(code, salt), nonce, key, b64.decode(conv), seg)
    return {
        "type": "return_code",
        "conv": conv,
        "seg": seg,
        "locator": b64.encode(returncode.locator(code)),
        "salt": b64.encode(salt),
        "nonce": b64.encode(nonce),
        "wrap": b64.encode(wrap),
    }


async def chat_with_every_key(
    h: Harness, server: Server, tmp: Path, *, close: bool = True
) -> Ended:
    """A period key, a counsellor with a device, a young person who seals for real, a phrase
    each way, a return code; closed by the young person unless ``close`` is False."""
    period_key, period_id = await register_period(
        server, tmp / f"period-{secrets.token_hex(4)}.pem"
    )
    language = unique_language()
    staff, _ = await h.console(await new_staff(server, languages=[language]))
    await staff.duty(True)
    youth = await h.youth(e2e=True)
    await youth.join(language=language)
    conv = (await youth.wait_paired())["conv"]
    key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
    phrase = f"canary-{secrets.token_hex(8)}"
    assert youth.sender is not None
    await youth.send_envelope(youth.sender.text_envelope(youth.key, f"{phrase} from youth"))
    await youth.expect("ack")
    await staff.send_envelope(staff.senders[conv].text_envelope(key, f"{phrase} from staff"))
    await staff.expect("ack")
    await youth.expect("envelope")
    code = returncode.new_code()
    await youth.send(await return_code_frame(code, youth.key, conv))
    await youth.expect("return_code_stored")
    if close:
        await youth.send({"type": "close"})
        await youth.expect("closed")
    stored = [
        r[0] for r in await rows(server, "SELECT ct FROM envelopes WHERE conv_id = :c", c=conv)
    ]
    for wrap_c, wrap_o in await rows(
        server, "SELECT wrap_c, wrap_o FROM segments WHERE conv_id = :c", c=conv
    ):
        stored += [wrap_c, wrap_o]
    stored += [
        r[0] for r in await rows(server, "SELECT wrap FROM return_wraps WHERE conv_id = :c", c=conv)
    ]
    assert staff.device is not None
    return Ended(
        conv, code, youth.key, staff.device, period_key, period_id, phrase, stored, staff, youth
    )


def raw_sqlite(server: Server) -> bytes:
    """The SQLite file and its WAL, as bytes (what a disk image or a file backup holds)."""
    path = server.database.path
    assert path is not None
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


def copy_sqlite(server: Server, to: Path) -> Path:
    """A file copy of the database and its WAL, as a backup taken now would be."""
    path = server.database.path
    assert path is not None
    to.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            shutil.copy2(source, to / (path.name + suffix))
    return to / path.name


async def write(server: Server, query: str, **params: Any) -> None:
    """One committed statement on the server's database (to age a row, as time would)."""
    engine = create_async_engine(server.database.url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(query), params)
    finally:
        await engine.dispose()
