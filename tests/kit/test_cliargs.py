"""Shared argparse types: a usage error, never a traceback, for a malformed value."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from app.kit.cliargs import iso_day


def test_iso_day_reads_a_date_and_refuses_anything_else() -> None:
    assert iso_day("2026-12-01") == date(2026, 12, 1)
    for text in ("2026-13-01", "01/12/2026", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM-DD"):
            iso_day(text)
