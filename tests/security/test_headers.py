"""Security and privacy headers on every response; production switches (SECURITY R-13, R-17, R-18).

Against a real server (what uvicorn adds or drops matters, e.g. the Server header), plus
the app called in-process (httpx's ASGI transport) for the production-mode and crash cases
that a test server cannot show. (Starlette's TestClient now warns unless ``httpx2`` is installed.)
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.keys import files as keys_files
from app.main import create_app
from tests.conftest import Server
from tests.support import shared_server

served = shared_server(kinds=("sqlite",))  # headers do not depend on the database

YOUTH_PAGES = ["/sv/", "/sv/chat", "/en/chat", "/ar/", "/ar/chat"]
PATHS = [
    *YOUTH_PAGES,
    "/staff",
    "/staff/admin",
    "/staff/api/admin/staff",  # 401
    "/healthz",
    "/readyz",
    "/static/js/quickexit.js",
    "/no-such-page",
    "/static/no-such-file.js",
    "/staff/api/me",  # 401
]


HASH_OR_NONCE = re.compile(r"'(sha256|sha384|sha512|nonce)-[A-Za-z0-9+/_=-]+'")


def _csp(value: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_security_headers(headers: httpx.Headers, *, hsts: bool = False) -> None:
    csp_value = headers["content-security-policy"]
    assert "unsafe-inline" not in csp_value
    assert "unsafe-eval" not in csp_value
    assert "*" not in csp_value
    csp = _csp(csp_value)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src"):  # our own origin, or exact hashes/nonces
        for source in csp.get(directive, ["'self'"]):
            assert source == "'self'" or HASH_OR_NONCE.fullmatch(source), (directive, source)
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    permissions = {p.strip() for p in headers["permissions-policy"].split(",")}
    assert {"camera=()", "microphone=()", "geolocation=()"} <= permissions
    assert "server" not in headers
    assert ("strict-transport-security" in headers) is hsts
    if hsts:
        assert "max-age=" in headers["strict-transport-security"]


async def test_every_response_carries_the_security_headers(served: Server) -> None:
    """R-13: Every response carries the security headers."""
    async with httpx.AsyncClient(base_url=served.base_url) as client:
        responses = [await client.get(path) for path in PATHS]
        responses.append(await client.get("/staff/api/login"))  # 405
        responses.append(
            await client.post(
                "/staff/api/login", json={}, headers={"Origin": served.base_url}
            )  # 422
        )
    statuses = [r.status_code for r in responses]
    assert statuses == [
        *[200] * len(YOUTH_PAGES),
        200,
        200,
        401,
        200,
        200,
        200,
        404,
        404,
        401,
        405,
        422,
    ]
    for response in responses:
        assert_security_headers(response.headers)


async def test_youth_pages_set_no_cookie_and_carry_no_inline_code(served: Server) -> None:
    async with httpx.AsyncClient(base_url=served.base_url) as client:
        for path in [*YOUTH_PAGES, "/staff", "/static/js/quickexit.js", "/healthz"]:
            response = await client.get(path)
            assert "set-cookie" not in response.headers, path
        for path in [*YOUTH_PAGES, "/staff"]:
            response = await client.get(path)
            html = response.text
            script_src = _csp(response.headers["content-security-policy"]).get("script-src", [])
            scripts = re.findall(
                r"(<script\b[^>]*>)(.*?)</script>", html, flags=re.IGNORECASE | re.DOTALL
            )
            for tag, body in scripts:
                if re.search(r'\btype="application/json"', tag):  # data, never executed
                    continue
                if re.search(r"\bsrc=", tag):  # same-origin files with Subresource Integrity
                    assert re.search(r'\bsrc="/static/', tag), (path, tag)
                    assert re.search(r'\bintegrity="sha(256|384|512)-', tag), (path, tag)
                else:  # inline only when the CSP allows exactly these bytes by their hash
                    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                    assert f"'sha256-{digest}'" in script_src, (path, tag)
            assert not re.search(r"<style\b", html, flags=re.IGNORECASE), path
            assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE), path


# ---------------------------------------------------------------------- production mode


@pytest.fixture
def production(tmp_path: Path) -> FastAPI:
    key_file = tmp_path / "service.key"
    keys_files.create_service_key(key_file)
    return create_app(
        Settings(
            mode="production",
            allowed_origins=["https://house.example"],
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'prod.sqlite3'}",
            service_key_file=key_file,
        )
    )


def _in_process(app: FastAPI) -> httpx.AsyncClient:
    """The app without a server and without its lifespan (these routes need no database)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="https://house.example")


async def test_production_has_no_api_docs_and_sends_hsts(production: FastAPI) -> None:
    """R-13, R-18: Production has no api docs and sends hsts."""
    async with _in_process(production) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert_security_headers(response.headers, hsts=True)
        assert_security_headers((await client.get("/healthz")).headers, hsts=True)


def test_production_refuses_unsafe_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ALLOWED_ORIGINS"):
        create_app(Settings(mode="production"))
    with pytest.raises(ValueError, match="COOKIE_SECURE"):
        create_app(
            Settings(mode="production", allowed_origins=["https://x.example"], cookie_secure=False)
        )
    with pytest.raises(ValueError, match="SERVICE_KEY_FILE"):
        create_app(Settings(mode="production", allowed_origins=["https://x.example"]))
    with pytest.raises(keys_files.KeyFileError, match="does not exist"):
        create_app(
            Settings(
                mode="production",
                allowed_origins=["https://x.example"],
                service_key_file=tmp_path / "missing.key",
            )
        )


async def test_test_mode_keeps_the_docs(served: Server) -> None:
    async with httpx.AsyncClient(base_url=served.base_url) as client:
        assert (await client.get("/openapi.json")).status_code == 200


async def test_a_crash_is_a_generic_500(production: FastAPI) -> None:
    """R-17: A crash is a generic 500."""
    marker = "secret-detail-4b1d"

    @production.get("/api/boom")  # an API path: a page request gets the HTML 500 (tests/pages)
    async def boom() -> None:
        raise RuntimeError(f"database password is {marker}")

    async with _in_process(production) as client:
        response = await client.get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "something went wrong on our side"}
    }
    assert marker not in response.text
    assert "Traceback" not in response.text
    assert_security_headers(response.headers, hsts=True)
