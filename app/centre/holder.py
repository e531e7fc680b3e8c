"""``CentreConfig``: the centre's configuration now, one per process (issue 11 §3).

Built at startup from the files and settings (``base``) and the documents stored in the
database; everything that reads the configuration (the dispatcher's joins, the board feed,
the entry policy, the pages' API) asks ``current()`` each time rather than keeping a copy. A
change is installed at once in the process that made it (``reload`` after the commit) and, in
the other processes sharing the database, by ``CentreRefresh``, a dispatcher chore that
compares the stored version numbers (one small read each sweep) and reloads when they moved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from app.centre import engine
from app.centre import repository as repo
from app.db import is_outage, snapshot
from app.models import CentreSetting

log = logging.getLogger(__name__)


class CentreConfig:
    def __init__(self, base: engine.Centre) -> None:
        #: The files' and settings' configuration, what a name returns to when reset.
        self.base = base
        self._current = base
        self._versions: dict[str, int] = {}

    def current(self) -> engine.Centre:
        """The configuration in force now (the files' with every stored document applied)."""
        return self._current

    @property
    def versions(self) -> Mapping[str, int]:
        return dict(self._versions)

    def install(self, rows: list[CentreSetting]) -> None:
        """Apply the stored ``rows`` (all of them) over the base."""
        stored = {r.name: json.loads(r.document) for r in rows if r.document is not None}
        self._current = engine.effective(self.base, stored)
        self._versions = {r.name: r.version for r in rows}

    async def reload(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Read every stored document and install them. Raises what the database raises."""
        async with snapshot(sessionmaker) as session:
            self.install(await repo.all_settings(session))

    async def refresh(self, sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
        """Reload if another process changed a document since; whether it did."""
        async with snapshot(sessionmaker) as session:
            if await repo.versions(session) == self._versions:
                return False
            self.install(await repo.all_settings(session))
        log.info("centre settings changed elsewhere: reloaded (versions %s)", self._versions)
        return True


class CentreRefresh:
    """The dispatcher chore that keeps this process's ``CentreConfig`` up to date."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], centre: CentreConfig
    ) -> None:
        self._sessionmaker = sessionmaker
        self._centre = centre

    async def __call__(self) -> None:
        try:
            await self._centre.refresh(self._sessionmaker)
        except Exception as exc:
            if is_outage(exc):
                log.warning("centre settings: database unavailable (%s)", type(exc).__name__)
            else:
                log.exception("centre settings: reading them failed")


def get_centre(conn: HTTPConnection) -> CentreConfig:
    """This process's CentreConfig, created by the app factory's lifespan."""
    found: CentreConfig = conn.app.state.centre
    return found
