"""The 422 message names our fields and never what the client sent (issue 13 (6), R-17)."""

from __future__ import annotations

from app.kit.errors import validation_message


def test_our_fields_are_named() -> None:
    errors = [
        {"type": "missing", "loc": ("body", "totp")},
        {"type": "string_too_long", "loc": ("body", "username"), "input": "x" * 99},
        {"type": "int_parsing", "loc": ("query", "limit")},
    ]
    assert validation_message(errors) == "invalid or missing: limit, totp, username"


def test_unexpected_keys_are_counted_not_named() -> None:
    """R-17: Unexpected keys are counted not named."""
    errors = [
        {"type": "extra_forbidden", "loc": ("body", "hunter2-my-password"), "input": 1},
        {"type": "extra_forbidden", "loc": ("body", "Another Key"), "input": 1},
    ]
    assert validation_message(errors) == "2 unexpected fields"
    nested = [
        {"type": "extra_forbidden", "loc": ("body", "tags", "<script>"), "input": 1},
        {"type": "missing", "loc": ("body", "code")},
    ]
    assert validation_message(nested) == "invalid or missing: code, tags; 1 unexpected field"


def test_client_made_keys_inside_a_location_are_masked() -> None:
    errors = [{"type": "string_type", "loc": ("body", "labels", "Secret Name", 0)}]
    assert validation_message(errors) == "invalid or missing: labels.….0"
    assert validation_message([]) == "invalid request"
