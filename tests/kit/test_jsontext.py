"""``jsontext.loads`` gives the standard library's answer for every text: the same value, or
an error where ``json.loads`` has one (P-2: frames are parsed by orjson when it agrees)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kit import jsontext

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


def _outcome(parse: object, text: str) -> tuple[str, str]:
    try:
        value = parse(text)  # type: ignore[operator]
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError:
        return ("error", "ValueError")
    # repr keeps what == loses: nan, -0.0, int against float, key order
    return ("value", repr(value) + type(value).__name__)


@settings(max_examples=60, deadline=None)
@given(_VALUES, st.booleans())
def test_the_same_value_as_json(value: object, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert _outcome(jsontext.loads, text) == _outcome(json.loads, text)


@given(st.text(alphabet='{}[]":,.-+eE0123456789 \\u0aftrnulsNIy\ud800', max_size=40))
def test_the_same_answer_on_any_text(text: str) -> None:
    assert _outcome(jsontext.loads, text) == _outcome(json.loads, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"seq":123456789012345678901234567890}',  # beyond 64 bits: an int, not a float
        '{"seq":18446744073709551615}',
        '{"seq":-9223372036854775809}',
        '{"a":NaN}',
        '{"a":1e400}',
        '{"a":"\\ud800"}',  # a lone surrogate escape: json reads it, the frame check refuses it
        '{"a":"\\ud83d\\ude00"}',
        "[" * 5000 + "]" * 5000,
        '{"a":1,"a":2}',
        '{"a":"\x00"}',
        " {} ",
        "",
    ],
)
def test_the_edges_where_orjson_differs(text: str) -> None:
    assert _outcome(jsontext.loads, text) == _outcome(json.loads, text)


def test_a_large_integer_stays_exact() -> None:
    value = jsontext.loads('{"seq":123456789012345678901234567890}')
    assert value == {"seq": 123456789012345678901234567890}
