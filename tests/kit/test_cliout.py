"""The one output style of ``vhouse`` (app/kit/cliout.py)."""

from __future__ import annotations

import json

import pytest

from app.kit.cliout import fail, listing, table


def test_a_table_aligns_text_left_and_numbers_right() -> None:
    rows = [
        {"name": "anna", "capacity": 3, "on_duty": True, "note": None},
        {"name": "bo", "capacity": 10, "on_duty": False, "note": "x"},
    ]
    assert table(rows, ("name", "capacity", "on_duty", "note")) == [
        "name  capacity  on_duty  note",
        "anna         3  yes      -",
        "bo          10  no       x",
    ]


def test_an_empty_table_is_its_header() -> None:
    assert table([], ("week", "key")) == ["week  key"]


def test_json_lines_keep_every_field_and_non_ascii(capsys: pytest.CaptureFixture[str]) -> None:
    listing([{"alias": "Åsa", "extra": 1}], ("alias",), as_json=True)
    line = capsys.readouterr().out
    assert line == '{"alias": "Åsa", "extra": 1}\n'
    assert json.loads(line) == {"alias": "Åsa", "extra": 1}


def test_a_refusal_is_one_line_with_its_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert fail("no such thing") == 2
    assert fail("nothing changed", 1) == 1
    assert capsys.readouterr().err == "vhouse: no such thing\nvhouse: nothing changed\n"
