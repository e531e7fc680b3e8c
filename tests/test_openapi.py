"""The OpenAPI document declares the error answers the routes really give (issue 13 (6)), and
the server keeps to it: schemathesis-style checks are done here by hand for the auth errors."""

from __future__ import annotations

import os
from typing import Any

from tests.staff.test_roles import ACCESS, ADMIN, STAFF, SUPERVISOR


def schema() -> dict[str, Any]:
    os.environ.setdefault("VH_MODE", "test")
    from app.main import create_app

    found: dict[str, Any] = create_app().openapi()
    return found


def test_every_error_answer_has_our_shape() -> None:
    document = schema()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) < 400:
                    continue
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, status)
                assert answer["description"], (method, path, status)


def test_auth_errors_follow_the_access_table() -> None:
    paths = schema()["paths"]
    for (method, path), level in ACCESS.items():
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            continue  # pages and sockets are not in the API document
        statuses = {int(s) for s in operation["responses"]}
        if level in (STAFF, SUPERVISOR, ADMIN):
            assert 401 in statuses, (method, path)
        if level in (SUPERVISOR, ADMIN) or (level == STAFF and method == "POST"):
            assert 403 in statuses, (method, path)
        if "{" in path:
            assert 404 in statuses, (method, path)
        if path != "/healthz":
            assert 503 in statuses, (method, path)


def test_declared_answers_of_the_login() -> None:
    login = schema()["paths"]["/staff/api/login"]["post"]
    assert {"401", "422", "429", "503"} <= set(login["responses"])


def test_declared_answers_of_the_feedback() -> None:
    document = schema()
    feedback = document["paths"]["/api/youth/feedback"]["post"]
    assert {"204", "403", "404", "409", "422", "429", "503"} <= set(feedback["responses"])
    body = document["components"]["schemas"]["FeedbackRequest"]
    assert body["properties"]["answer"]["enum"] == ["yes", "partly", "no"]
    assert body["additionalProperties"] is False
