"""R-24: Schemathesis against the OpenAPI document, on a real ``vhouse serve`` process.

Every operation of ``/openapi.json`` gets generated requests, valid and invalid, twice: without a
session (the public routes, and every staff route's refusal) and with an admin's session (Cookie,
X-CSRF-Token and the Origin a page sends), which may use every staff route. Each answer must not
be a 5xx, must have a status the document declares for the operation, a content type it declares,
and a body that conforms to the declared schema. Logging out is left out of the signed-in run:
it would end the session the run stands on (it is in the anonymous run, and tests/security has
its own tests).

Bounded for CI: 8 generated examples per operation besides Schemathesis' own coverage cases,
derandomized (a failure reproduces), no per-example deadline (the server runs argon2 for every
login); on SQLite and PostgreSQL about 80 s in all on two busy cores.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from app.client.api import Credentials
from app.config import Settings
from app.main import create_app
from tests.conftest import Server
from tests.support import new_staff, shared_server, staff_login

served = shared_server()

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
#: Operations that answer 401 for wrong credentials in the body, with or without a session.
CREDENTIAL_CHECKS = frozenset({"/staff/api/login", "/staff/api/reauth"})
BOUNDED = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def admin(served: Server) -> Credentials:
    async def sign_in() -> Credentials:
        return await staff_login(served, await new_staff(served, alias="Admin", role="admin"))

    return asyncio.run(sign_in())


def _page_headers(served: Server, who: Credentials | None) -> dict[str, str]:
    headers = {"Origin": served.base_url}
    if who is not None:
        headers["Cookie"] = f"{who.cookie_name}={who.cookie}"
        headers["X-CSRF-Token"] = who.csrf_token
    return headers


def _document() -> dict[str, Any]:
    """The document the app serves, built in-process so the operations are known when tests are
    collected (``test_the_server_serves_this_document`` checks the server's is the same).

    Schemathesis' lazy ``from_fixture`` loader does not run under pytest 9.2 (it sets
    ``Function._nodeid``, which pytest no longer has), so the schema is not loaded from the
    server's URL by a fixture."""
    found: dict[str, Any] = create_app(Settings(mode="test")).openapi()
    return found


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_server_serves_this_document(served: Server) -> None:
    """R-24: the document the runs below are generated from is the one the server serves."""
    with urllib.request.urlopen(served.base_url + "/openapi.json", timeout=10) as answer:  # noqa: S310
        assert json.loads(answer.read()) == DOCUMENT


@schema.parametrize()
@BOUNDED
def test_every_operation_without_a_session(case: Any, served: Server) -> None:
    """R-24: no 5xx, every status declared, bodies as documented, without a session."""
    case.call_and_validate(
        base_url=served.base_url, headers=_page_headers(served, None), checks=CHECKS
    )


@schema.exclude(path="/staff/api/logout").parametrize()
@BOUNDED
def test_every_operation_as_an_admin(case: Any, served: Server, admin: Credentials) -> None:
    """R-24: no 5xx, every status declared, bodies as documented, with an admin's session."""
    answer = case.call_and_validate(
        base_url=served.base_url, headers=_page_headers(served, admin), checks=CHECKS
    )
    if case.path not in CREDENTIAL_CHECKS:
        assert answer.status_code != 401, "the admin's session was lost: the run proves less"


# ------------------------------------------------- what the runs found, each kept as a test


def _raw(served: Server, method: str, path: str, body: bytes | None, **headers: str) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        served.base_url + path,
        data=body,
        headers={"Content-Type": "application/json", "Origin": served.base_url, **headers},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, json.loads(refused.read())


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{", b'{"locator": "\xc3"}', b"[" * 100_000],
    ids=["not-utf8", "broken-utf8-in-a-string", "nested-too-deep"],
)
def test_a_body_that_is_not_json_text_is_an_invalid_request(served: Server, body: bytes) -> None:
    """R-17, R-24: a body FastAPI cannot even decode answers 422 ``invalid_request`` like
    malformed JSON (it was an undeclared 400 ``http_error``), and echoes nothing of it."""
    status, answer = _raw(served, "POST", "/api/youth/return", body)
    assert status == 422
    assert answer == {"error": {"code": "invalid_request", "message": "invalid or missing: body"}}
    assert "422" in DOCUMENT["paths"]["/api/youth/return"]["post"]["responses"]


def test_a_body_over_the_limit_is_a_declared_413(served: Server) -> None:
    """R-24: the body limit's 413 ``too_large`` is declared for every operation with a body."""
    status, answer = _raw(served, "POST", "/api/youth/return", b" " * (256 * 1024 + 1))
    assert (status, answer["error"]["code"]) == (413, "too_large")
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)


def test_a_bad_if_match_on_a_settings_reset_is_a_declared_400(
    served: Server, admin: Credentials
) -> None:
    """R-24: ``DELETE /staff/api/admin/settings/{name}`` answers a malformed ``If-Match`` with
    400 ``invalid_request``; the document now declares it (it did only for ``PUT``)."""
    status, answer = _raw(
        served,
        "DELETE",
        "/staff/api/admin/settings/hours",
        None,
        **{"If-Match": "null"},
        **_page_headers(served, admin),
    )
    assert (status, answer["error"]["code"]) == (400, "invalid_request")
    assert "400" in DOCUMENT["paths"]["/staff/api/admin/settings/{name}"]["delete"]["responses"]
