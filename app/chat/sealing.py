"""Stored wraps sealed under their conversation's expiry bucket, and opened again to be sent.

``Sealer`` is the one way the chat package writes or reads a wrap (CRYPTO.md §6): it seals a
client's value under the bucket key of the week the conversation expires in (choosing that week
when the first wrap is stored) and opens it for the client that needs it. A wrap whose bucket key
is gone opens as ``None``: the conversation has expired, or the key directory was lost.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.chat import repository as repo
from app.chat.retention import RetentionPolicy
from app.config import Settings
from app.crypto import bucket
from app.crypto.bucket import Place
from app.keys.bucketkeys import BucketKeys
from app.kit import weeks

log = logging.getLogger(__name__)


def device_place(conv: str, seg: int) -> Place:
    return Place("C", conv, str(seg))


def period_place(conv: str, seg: int) -> Place:
    return Place("O", conv, str(seg))


def return_place(conv: str, seg: int) -> Place:
    return Place("R", conv, str(seg))


def grant_place(conv: str, from_conv: str, seg: int, device_id: str) -> Place:
    return Place("H", conv, f"{from_conv}|{seg}|{device_id}")


class Sealer:
    def __init__(self, keys: BucketKeys, policy: RetentionPolicy) -> None:
        self.keys = keys
        self.policy = policy

    async def bucket_of(self, session: AsyncSession, conv_id: str, now: float) -> str:
        """The conversation's bucket, chosen now (as if it ended now) if it has none yet.

        Locks the conversation's row, so that the purge cannot move the conversation to
        another bucket between this choice and the commit of the wrap sealed under it.
        """
        row = await repo.conversation_for_sealing(session, conv_id)
        if row is None:
            raise LookupError(conv_id)
        conv, kind, skill = row
        if conv.bucket is None:
            conv.bucket = self.policy.open_bucket(kind=kind, skill=skill, now=now)
            await session.flush()
        return conv.bucket

    async def seal(self, session: AsyncSession, place: Place, value: str, now: float) -> str:
        """``value`` sealed under the bucket of ``place.conv``."""
        week = await self.bucket_of(session, place.conv, now)
        return self.seal_in(week, place, value)

    def seal_in(self, week: str, place: Place, value: str) -> str:
        return bucket.seal(self.keys.get_or_create(week), week, place, value)

    def open(self, stored: str | None, place: Place) -> str | None:
        """The client's value of a stored wrap; None when there is none or its key is gone.

        A value stored before buckets existed (not sealed yet; the next purge seals it) is
        returned as it is.
        """
        if stored is None:
            return None
        if not bucket.is_sealed(stored):
            return stored
        week = bucket.week_of_sealed(stored)
        key = self.keys.get(week) if weeks.is_week(week) else None
        if key is None:
            return None
        try:
            return bucket.open_sealed(key, stored, place)
        except bucket.BucketError:
            log.error("a stored wrap does not open under its bucket key (%s)", place.purpose)
            return None


def policy_from(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        days=settings.retention_days,
        by_queue=dict(settings.retention_by_queue),
        grace_days=settings.bucket_grace_days,
    )


def sealer_from(settings: Settings) -> Sealer:
    """The sealer of the settings' key directory; in test mode without one, a fresh temporary
    directory (like the throwaway service key of test mode).

    Raises ``KeyFileError`` when the directory is open to others, and ``ValueError`` outside
    test mode when no key directory is configured.
    """
    directory = settings.bucket_key_dir()
    if directory is None:
        if settings.mode != "test":
            raise ValueError("VH_KEY_DIR must name the key directory of the bucket keys")
        directory = Path(tempfile.mkdtemp(prefix="vh-buckets-"))
        log.warning("test mode: bucket keys in a throwaway directory %s", directory)
    return Sealer(BucketKeys(directory), policy_from(settings))


def get_sealer(conn: HTTPConnection) -> Sealer:
    sealer: Sealer = conn.app.state.sealer
    return sealer
