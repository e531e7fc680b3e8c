"""The canary search itself: it must find a phrase in every form it claims, and nothing else."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry
from tests.canary import canary_phrase, encodings, find_canary
from tests.conftest import Database
from tests.transcripts.world import in_transaction


@pytest.mark.parametrize("shift", [0, 1, 2])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_forms_are_found_at_every_alignment(shift: int, encode: object) -> None:
    phrase = canary_phrase()
    for prefix in (b"", b"x" * shift, b"\xff" * shift):
        blob = encode(prefix + phrase.encode() + b"tail")  # type: ignore[operator]
        assert any(form in blob for form in encodings(phrase).values()), (shift, prefix)
    other = encode(b"x" * shift + canary_phrase().encode())  # type: ignore[operator]
    assert not any(form in other for form in encodings(phrase).values())


def test_found_in_files_in_any_text_encoding(tmp_path: Path) -> None:
    phrase = canary_phrase()
    log = tmp_path / "server.log"
    log.write_bytes(b"INFO something\n" + phrase.encode("utf-16-le") + b"\n")
    assert find_canary(phrase, paths=[log]) == [f"{log} (utf-16-le)"]
    assert find_canary(canary_phrase(), paths=[log, tmp_path / "missing.log"]) == []


def test_found_in_a_database_of_each_kind(database: Database) -> None:
    phrase = canary_phrase()
    assert find_canary(phrase, database=database) == []

    async def store(session: AsyncSession) -> None:
        hidden = base64.urlsafe_b64encode(b"ab" + phrase.encode()).decode()
        session.add(AuditEntry(at=0.0, staff_id=None, action="test", detail=hidden))

    in_transaction(database, store)
    found = find_canary(phrase, database=database)
    assert found, "a base64url copy of the phrase in a row must be found"
    if database.kind == "postgresql":
        assert "postgresql table audit_log (base64url+2)" in found
    assert find_canary(canary_phrase(), database=database) == []
