"""The account rules (app/staff/rules.py), without a database: what an admin may set, what an
edit changes, and the last-admin rule."""

from __future__ import annotations

import pytest

from app.staff import rules
from app.staff.rules import BadRouting, Edit

OFFERED = ("sv", "en", "ar")
SERVED = ("youth", "professional", "police")


def test_languages_and_skills_must_be_the_centres() -> None:
    rules.check_routing(["SV", " ar "], ["youth", "police"], offered=OFFERED, served=SERVED)
    with pytest.raises(BadRouting) as bad:
        rules.check_routing(["swedish", "klingon", "sv"], [], offered=OFFERED, served=SERVED)
    assert (bad.value.field, bad.value.unknown) == ("languages", ["klingon", "swedish"])
    assert bad.value.valid == list(OFFERED)
    assert "klingon, swedish not offered here; use among sv, en, ar" in str(bad.value)
    with pytest.raises(BadRouting) as bad:
        rules.check_routing(["sv"], ["youth", "policee"], offered=OFFERED, served=SERVED)
    assert (bad.value.field, bad.value.unknown) == ("skills", ["policee"])
    assert isinstance(bad.value, ValueError)  # callers that catch ValueError still do


def test_an_edit_is_normalised_and_checked() -> None:
    edit = Edit(alias="  Maja ", languages=["EN", "sv", "en"], skills=[], capacity=3)
    assert rules.normalise(edit) == {
        "alias": "Maja",
        "languages": "en,sv",
        "skills": "youth",
        "capacity": 3,
    }
    assert rules.normalise(Edit()) == {}
    for bad, field in (
        (Edit(alias=" "), "alias"),
        (Edit(alias="x" * 65), "alias"),
        (Edit(alias="two\nlines"), "alias"),
        (Edit(role="root"), "role"),
        (Edit(organisation="army"), "organisation"),
        (Edit(capacity=0), "capacity"),
        (Edit(capacity=11), "capacity"),
        (Edit(languages=[" ", ""]), "languages"),
    ):
        with pytest.raises(ValueError, match=rf"^{field}: "):
            rules.normalise(bad)


def test_usernames() -> None:
    assert rules.check_username(" Anna.B-2 ") == "anna.b-2"
    for bad in ("", "a b", "x" * 65, "anna;drop"):
        with pytest.raises(ValueError, match=r"^username: "):
            rules.check_username(bad)


def test_changes_name_only_what_differs_in_a_fixed_order() -> None:
    before = {
        "alias": "Sara",
        "role": "counsellor",
        "organisation": "municipality",
        "languages": "sv",
        "skills": "youth",
        "capacity": 2,
    }
    after = {"capacity": 3, "languages": "ar,sv", "alias": "Sara"}
    changed = rules.changes(before, after)
    assert changed == {"languages": ["sv", "ar,sv"], "capacity": [2, 3]}
    assert list(changed) == ["languages", "capacity"]
    assert rules.changes(before, {"alias": "Sara"}) == {}


@pytest.mark.parametrize(
    ("is_admin", "enabled", "admins", "still_admin", "refused"),
    [
        (True, True, 1, False, True),  # the last admin disabled or demoted
        (True, True, 2, False, False),  # another admin is left
        (True, True, 1, True, False),  # an edit keeping the role
        (False, True, 1, False, False),  # not an admin
        (True, False, 1, False, False),  # a disabled admin does not count
    ],
)
def test_the_last_admin_is_kept(
    is_admin: bool, enabled: bool, admins: int, still_admin: bool, refused: bool
) -> None:
    assert (
        rules.leaves_no_admin(
            target_is_admin=is_admin,
            target_enabled=enabled,
            enabled_admins=admins,
            still_admin=still_admin,
        )
        is refused
    )
