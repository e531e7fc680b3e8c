"""``/.well-known/security.txt`` (RFC 9116) from ``VH_SECURITY_CONTACT``: served by a real
server with the centre's contact and an ``Expires`` under a year ahead, 404 without the setting;
a contact that is not a ``mailto:`` address or an ``https:`` URI stops the settings."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from app.config import Settings
from tests.conftest import Server
from tests.support import shared_server

CONTACT = "mailto:security@centre.example"
server = shared_server(("sqlite",), VH_SECURITY_CONTACT=CONTACT)
unset = shared_server(("sqlite",))
PATH = "/.well-known/security.txt"


def _get(base_url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(base_url + PATH, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.headers["content-type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read().decode()


def test_served_with_the_centres_contact_and_an_expiry(server: Server) -> None:
    status, kind, body = _get(server.base_url)
    assert status == 200, body
    assert kind.startswith("text/plain")
    fields = dict(line.split(": ", 1) for line in body.splitlines())
    assert fields["Contact"] == CONTACT
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    ahead = expires.timestamp() - time.time()
    assert 0 < ahead < 365 * 86400


def test_not_found_without_a_contact(unset: Server) -> None:
    status, _, _ = _get(unset.base_url)
    assert status == 404


@pytest.mark.parametrize(
    "value", ["https://centre.example/security", "mailto:security-team@centre.example"]
)
def test_a_mailto_or_https_contact_is_taken(value: str) -> None:
    assert Settings(security_contact=value).security_contact == value


@pytest.mark.parametrize(
    "value",
    [
        "http://centre.example/security",
        "security@centre.example",
        "mailto:not-an-address",
        "javascript:alert(1)",
        "https://centre.example/a\nContact: mailto:evil@attacker.example",
        "https:///no-host",
    ],
)
def test_anything_else_stops_the_settings(value: str) -> None:
    with pytest.raises(ValueError, match="security contact"):
        Settings(security_contact=value)
