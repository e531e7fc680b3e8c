"""JSON text parsed fast, with exactly the standard library's result.

Every client frame is parsed once (``app.relay.protocol``), on the relay's hot path, where
``json.loads`` is a visible share of each envelope's cost (PERFORMANCE.md P-2). orjson is several
times faster but differs from ``json`` at the edges: it refuses NaN, infinities, lone
surrogates and deep nesting, and reads an integer beyond 64 bits as a float. Text orjson
refuses, or whose value holds a float, goes to ``json.loads`` instead, so every frame gets the
standard library's answer (value or error) and the checks after it see what they saw.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str) -> Any:
    """``json.loads(text)``: the same value, or the same ``ValueError``/``RecursionError``."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # says what is wrong, or reads what orjson will not
    if _has_float(value):
        # Maybe an integer beyond 64 bits, which orjson reads as a float: ask json. Frames
        # have no float fields, so this is the rare path of a frame that will be refused.
        return json.loads(text)
    return value


def _has_float(value: Any) -> bool:
    """Whether a float is anywhere in ``value`` (orjson gives exact ``dict``/``list`` types)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            return True
    return False
