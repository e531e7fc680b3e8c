"""The OpenAPI document with the error answers the routes really give (issue 13 (6)).

FastAPI documents only the 200 answer and its own 422 shape. Every error of ours is
``{"error": {"code", "message", …}}`` (app/main.py), and which ones a route can answer follows
from how it is built, so they are added here rather than by hand on each route:

- 401 ``not_authenticated`` for a route that needs a staff session;
- 403 ``forbidden`` for one that checks a role, the Origin or the CSRF token;
- 404 ``not_found`` for a route with a path parameter;
- 413 ``too_large`` for a route with a body (app/security/bodylimit.py);
- 422 ``invalid_request`` for a route with a body or parameters (a body that is not JSON text
  too, app/main.py);
- 503 ``unavailable`` for every route but the liveness probe (the database may be out);
- 400, 409 and 429 where a route declares them (``responses={429: {}}``), with the same body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.security import dependencies as deps

SESSION_CHECKS: frozenset[Callable[..., Any]] = frozenset({deps.current_staff})
FORBIDDING_CHECKS: frozenset[Callable[..., Any]] = frozenset(
    {
        deps.staff_for_change,
        deps.check_origin,
        deps.supervisor,
        deps.supervisor_for_change,
        deps.admin,
        deps.admin_for_change,
    }
)
DESCRIPTIONS = {
    400: "Refused: the request breaks a rule (the message says which)",
    401: "No staff session: log in first",
    403: "Forbidden: a role, the Origin or the CSRF token does not allow it",
    404: "Not found",
    409: "Conflict with the current state (the message says which)",
    413: "The request body is over the size limit",
    422: "Invalid request: the fields of ours that are invalid or missing",
    429: "Too many requests: wait Retry-After seconds",
    503: "The database is unreachable right now: retry after Retry-After seconds",
}
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": True,
        }
    },
}
UNCHECKED_PATHS = frozenset({"/healthz"})


def document(app: FastAPI) -> dict[str, Any]:
    """``app.openapi``: FastAPI's schema once, then the error answers of each operation."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for route in _api_routes(app):
            for method in (route.methods or set()) - {"HEAD"}:
                operation = schema["paths"].get(route.path, {}).get(method.lower())
                if operation is not None:
                    _add_errors(operation, route)
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


def errors_of(route: APIRoute) -> set[int]:
    """The error statuses ``route`` can answer, from how it is built."""
    calls = set(_calls(route.dependant))
    found = {503} if route.path not in UNCHECKED_PATHS else set()
    if calls & (SESSION_CHECKS | FORBIDDING_CHECKS) - {deps.check_origin}:
        found.add(401)
    if calls & FORBIDDING_CHECKS:
        found.add(403)
    if route.dependant.path_params:
        found.add(404)
    if route.dependant.body_params:
        found.add(413)
    if route.dependant.body_params or route.dependant.query_params or route.dependant.path_params:
        found.add(422)
    return found


def _add_errors(operation: dict[str, Any], route: APIRoute) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(errors_of(route) | declared):
        answer = responses.setdefault(str(status), {})
        answer["description"] = DESCRIPTIONS.get(status, answer.get("description") or "Error")
        answer["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router (FastAPI ≥ 0.16x)
                yield from walk(route.original_router.routes)
            elif isinstance(route, APIRoute):
                yield route

    return walk(list(app.routes))
