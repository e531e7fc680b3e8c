"""JSON text parsed fast, with exactly the standard library's result.

Every client frame is parsed once (``app.relay.protocol``), on the relay's hot path, where
``json.loads`` is a visible share of each envelope's cost (PERFORMANCE.md P-2). orjson is several
times faster but differs from ``json`` at the edges: it refuses NaN, infinities, lone
surrogates and deep nesting, and reads an integer beyond 64 bits as a float. Text orjson
refuses, or that holds a run of 19 or more digits, goes to ``json.loads`` instead, so every frame
gets the standard library's answer (value or error) and the checks after it see what they saw.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

#: A digit run that may spell an integer beyond 64 bits (orjson: a float, json: an int).
_LONG_DIGITS: Final = re.compile(r"\d{19}")


def loads(text: str) -> Any:
    """``json.loads(text)``: the same value, or the same ``ValueError``/``RecursionError``."""
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the standard library says what is wrong, or reads what orjson will not
    return json.loads(text)
