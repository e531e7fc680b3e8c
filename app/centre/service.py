"""Reading and changing the centre's stored settings; shared by the admin API and the CLI.

Every change is audited (``settings.changed`` with the name and new version) in the caller's
transaction. After the commit the caller must ``CentreConfig.reload`` (the API does; the CLI
leaves it to the running service's ``CentreRefresh``, within a sweep).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.centre import engine
from app.centre import repository as repo
from app.config import Settings
from app.kit.errors import DomainError, NotFound
from app.models import CentreSetting
from app.supervision.service import thresholds
from app.triage.setup import load_setup


class InvalidSettings(DomainError):
    """A document refused by ``engine.check``; ``extra`` names the settings and the place."""

    status = 400
    code = "invalid_settings"


class SettingsChanged(DomainError):
    """Someone else stored a new version since the one the change was made on."""

    status = 409
    code = "settings_changed"


def base_centre(settings: Settings) -> engine.Centre:
    """The centre as its files and ``VH_*`` settings say. Raises ``InvalidSetup``."""
    return engine.Centre(load_setup(settings), thresholds(settings))


def fallback_source(name: str, settings: Settings) -> str:
    """Where ``name`` comes from while nothing is stored: file, settings or default."""
    if name == "hours":
        return "file" if settings.opening_hours_file is not None else "default"
    return "settings" if name == "alerts" else "file"


def _known(name: str) -> None:
    if name not in engine.NAMES:
        raise NotFound(f"no such settings: use one of {', '.join(engine.NAMES)}")


def _stored(rows: list[CentreSetting]) -> dict[str, object]:
    return {r.name: json.loads(r.document) for r in rows if r.document is not None}


async def views(
    session: AsyncSession, base: engine.Centre, settings: Settings
) -> list[dict[str, Any]]:
    """Each settings document in force, with where it comes from, its version, when and by
    whom it was last changed (``updated_by`` is an alias, ``None`` for the CLI)."""
    rows = {r.name: r for r in await repo.all_settings(session)}
    current = engine.effective(base, _stored(list(rows.values())))
    names = await repo.aliases(
        session, sorted({r.updated_by for r in rows.values() if r.updated_by})
    )
    found = []
    for name in engine.NAMES:
        row = rows.get(name)
        stored = row is not None and row.document is not None
        found.append(
            {
                "name": name,
                "source": "database" if stored else fallback_source(name, settings),
                "version": 0 if row is None else row.version,
                "updated_at": None if row is None else row.updated_at,
                "updated_by": None
                if row is None or not row.updated_by
                else names.get(row.updated_by),
                "document": engine.document(name, current),
            }
        )
    return found


async def view(
    session: AsyncSession, name: str, base: engine.Centre, settings: Settings
) -> dict[str, Any]:
    """``views`` of one name; for ``routing`` also the topics (id, English label, the file's
    skill) and the skill queues that may be chosen. Raises ``NotFound``."""
    _known(name)
    found = next(v for v in await views(session, base, settings) if v["name"] == name)
    if name == "routing":
        current = engine.effective(base, {"routing": found["document"]})
        found["skills"] = engine.skills_offered(base, current, await repo.staff_skills(session))
        found["topics"] = _topics(base)
    return found


def _topics(base: engine.Centre) -> list[dict[str, Any]]:
    questions = base.setup.questions
    topic = questions.get("topic")
    language = "en" if "en" in questions.languages else questions.languages[0]
    if topic is None:
        return []
    return [{"id": o.id, "label": o.label[language], "file_skill": o.skill} for o in topic.options]


async def store(
    session: AsyncSession,
    name: str,
    document: object,
    *,
    base: engine.Centre,
    staff_id: str | None,
    now: float,
    expected_version: int | None = None,
) -> int:
    """Store ``document`` as ``name``'s new version and audit it; returns the version.

    Raises ``NotFound`` for an unknown name, ``InvalidSettings`` (nothing stored) for a bad
    document, ``SettingsChanged`` when ``expected_version`` is not the stored version.
    """
    _known(name)
    try:
        engine.check(name, document, base.setup.questions)
    except engine.InvalidDocument as exc:
        where = f" at {exc.where}" if exc.where else ""
        raise InvalidSettings(
            f"{name}{where}: {exc.message}",
            extra={"name": name, "where": exc.where, "detail": exc.message},
        ) from None
    row = await repo.setting_for_update(session, name)
    _expect(row, expected_version)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    try:
        row = await repo.save(session, row, name, text, staff_id=staff_id, now=now)
    except IntegrityError:  # two first versions at once: the other one was first
        raise SettingsChanged("changed by someone else meanwhile: reload to see it") from None
    await _audit(session, row, staff_id, now)
    return row.version


async def reset(
    session: AsyncSession,
    name: str,
    *,
    staff_id: str | None,
    now: float,
    expected_version: int | None = None,
) -> int | None:
    """Return ``name`` to its file or setting (audited); the new version, or ``None`` when
    nothing was stored (nothing changes). Raises ``NotFound``, ``SettingsChanged``."""
    _known(name)
    row = await repo.setting_for_update(session, name)
    _expect(row, expected_version)
    if row is None or row.document is None:
        return None
    row = await repo.save(session, row, name, None, staff_id=staff_id, now=now)
    await _audit(session, row, staff_id, now)
    return row.version


def _expect(row: CentreSetting | None, expected: int | None) -> None:
    version = 0 if row is None else row.version
    if expected is not None and expected != version:
        raise SettingsChanged(
            f"changed by someone else meanwhile (version {version}, not {expected}): "
            "reload to see it",
            extra={"version": version},
        )


async def _audit(
    session: AsyncSession, row: CentreSetting, staff_id: str | None, now: float
) -> None:
    detail = {"name": row.name, "version": row.version, "stored": row.document is not None}
    await audit_log.audit(
        session, staff_id=staff_id, action="settings.changed", detail=json.dumps(detail), now=now
    )


async def current(session: AsyncSession, base: engine.Centre) -> engine.Centre:
    """The centre in force: ``base`` with every stored document applied."""
    return engine.effective(base, _stored(await repo.all_settings(session)))
