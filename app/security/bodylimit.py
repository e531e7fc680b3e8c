"""A bound on every HTTP request body (issue 13): 413 ``too_large`` with our JSON error body.

A pure ASGI middleware. A declared ``Content-Length`` over the bound is refused before anything
is read; a body sent without one (chunked) is read here, at most the bound, and refused once it
passes it (the app's body parser would turn an error raised while reading into a 400).
WebSocket frames have their own bound (``ws_max_frame_bytes``).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        if declared is None and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            # Chunked: read it whole here (at most the bound), then hand it on in one piece.
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                body += message.get("body", b"")
                if len(body) > self.max_bytes:
                    await self._refuse(send)
                    return
                if not message.get("more_body", False):
                    break
            await self.app(scope, _replay(bytes(body), receive), send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send) -> None:
        limit = f"a request body is at most {self.max_bytes} bytes"
        body = json.dumps({"error": {"code": "too_large", "message": limit}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the client sends next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
