"""Security and privacy headers on every HTTP response (SAFETY S-10, SECURITY R-13).

A pure ASGI middleware (not ``BaseHTTPMiddleware``): it adds headers to the start message and
never buffers the body. Scripts are same-origin files with Subresource Integrity; the one inline
script, the import map that gives imported modules their integrity, is admitted by its exact
hash, so the CSP needs neither nonces nor ``unsafe-inline``. No page has inline style.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(script_hashes: tuple[str, ...] = ()) -> str:
    """The CSP of every response; ``script_hashes`` admit specific inline scripts by hash."""
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(("script-src 'self'", *script_hashes)),
            *_CSP_REST,
        )
    )


_CSP_REST = (
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CSP = content_security_policy()

BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
)
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
_REPLACED = {name for name, _ in BASE_HEADERS} | {b"server", b"strict-transport-security"}


def header_map(*, hsts: bool) -> dict[str, str]:
    """The same headers as a mapping, for responses sent outside this middleware.

    Starlette sends the 500 of an unhandled exception from ``ServerErrorMiddleware``, which
    wraps every user middleware: the crash handler must add these itself.
    """
    pairs = [*BASE_HEADERS, HSTS] if hsts else list(BASE_HEADERS)
    return {name.decode(): value.decode() for name, value in pairs}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool, script_hashes: tuple[str, ...] = ()) -> None:
        self.app = app
        csp = (b"content-security-policy", content_security_policy(script_hashes).encode())
        headers = [csp, *BASE_HEADERS[1:]]
        self.headers = [*headers, HSTS] if hsts else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
