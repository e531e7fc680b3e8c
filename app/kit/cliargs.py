"""Argument types shared by the ``vhouse`` subcommands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse
from datetime import date


def iso_day(text: str) -> date:
    """A ``YYYY-MM-DD`` date; ``argparse.ArgumentTypeError`` (a usage error) for anything else."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None
