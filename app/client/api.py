"""The reference client's HTTP calls: staff login, and JSON posted as the service's pages post it.

Blocking (``urllib``): async code calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any


@dataclass
class Credentials:
    cookie_name: str
    cookie: str
    csrf_token: str
    staff_id: str
    #: The login's fresh-login proof, which registering a device asks for (a few minutes).
    fresh_login: str | None = None


def login(base_url: str, username: str, password: str, code: str) -> Credentials:
    """Log in over HTTP (blocking; call via ``asyncio.to_thread`` from async code).

    Raises ``urllib.error.HTTPError`` (401 refused, 429 locked) as the server answers.
    """
    body = json.dumps({"username": username, "password": password, "totp": code}).encode()
    request = urllib.request.Request(  # noqa: S310 - base_url is the operator's own server
        base_url.rstrip("/") + "/staff/api/login",
        data=body,
        headers={"Content-Type": "application/json", "Origin": base_url.rstrip("/")},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        info = json.loads(response.read())
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    name, morsel = next(iter(jar.items()))
    return Credentials(
        name, morsel.value, info["csrf_token"], info["staff_id"], info.get("fresh_login")
    )


def post_json(
    base_url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """POST JSON as a page of the service would (blocking), with ``headers`` added (a staff
    session's ``Cookie`` and ``X-CSRF-Token``); raises ``urllib.error.HTTPError`` on refusal."""
    origin = base_url.rstrip("/")
    request = urllib.request.Request(  # noqa: S310 - base_url is the operator's own server
        origin + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Origin": origin, **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
    return answer
