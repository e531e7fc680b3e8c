"""The socket transport a real server sets up (R-2, R-5, R-6): no compression, pings that drop a
client which stopped answering, and no credential taken from a URL.

The ping test runs a server with a one-second ping interval and timeout; production's defaults
(20 s + 20 s) drop such a client within the 40 s R-6 allows, which the settings test checks.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.config import Settings
from tests.conftest import Server
from tests.support import Harness, new_staff, shared_server

served = shared_server(("sqlite",))
pinging = shared_server(
    ("sqlite",), VH_WS_PING_INTERVAL_SECONDS="1", VH_WS_PING_TIMEOUT_SECONDS="1"
)


def _ws(server: Server, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


async def test_permessage_deflate_is_never_negotiated(served: Server) -> None:
    """R-5: a client offering permessage-deflate gets no extension back (memory and safety)."""
    async with connect(
        _ws(served, "/ws/youth"),
        origin=served.base_url,  # type: ignore[arg-type]
        compression="deflate",
        open_timeout=10,
    ) as ws:
        assert ws.request is not None
        assert ws.response is not None
        assert "permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None


def _silent_upgrade(server: Server) -> socket.socket:
    """A socket that completes the WebSocket handshake and then never answers anything."""
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/youth HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {server.base_url}\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        assert chunk, "closed during the handshake"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def _seconds_until_dropped(sock: socket.socket, within: float) -> float:
    """Read (never answer) until the server closes the connection; the seconds it took."""
    started = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - started < within:
        try:
            if not sock.recv(4096):  # pings arrive, are read and never answered
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    raise AssertionError(f"still connected after {within} s")


async def test_a_client_that_stops_answering_pings_is_dropped(pinging: Server) -> None:
    """R-6: no pong within the ping timeout closes the connection; a client that answers stays."""
    async with connect(
        _ws(pinging, "/ws/youth"),
        origin=pinging.base_url,  # type: ignore[arg-type]
        open_timeout=10,
    ) as answering:
        sock = await asyncio.to_thread(_silent_upgrade, pinging)
        try:
            took = await asyncio.to_thread(_seconds_until_dropped, sock, 10)
        finally:
            sock.close()
        assert 1 <= took <= 1 + 1 + 2  # after a ping went unanswered; a little slack
        # The websockets client answers pings: still connected after the same time.
        await answering.ping()
        assert answering.close_code is None
        await answering.send('{"type": "nonsense"}')
        assert '"error"' in str(await asyncio.wait_for(answering.recv(), 5))


def test_production_pings_drop_a_silent_client_within_40_seconds() -> None:
    """R-6: the default ping interval plus timeout is at most 40 s."""
    settings = Settings(mode="test")
    assert settings.ws_ping_interval_seconds + settings.ws_ping_timeout_seconds <= 40


async def test_a_session_token_in_the_url_is_no_credential(served: Server) -> None:
    """R-2: the staff socket takes its session from the cookie only: the same token (and the
    CSRF token) in the URL's query opens nothing, and the client's socket URL names only the
    device."""
    async with Harness(served) as h:
        console, _ = await h.console(await new_staff(served))
        assert console.credentials is not None
        assert console.device is not None
        assert console.path == f"/ws/staff?device={console.device.device_id}"
        token, csrf = console.credentials.cookie, console.credentials.csrf_token
        name = console.credentials.cookie_name
        for query in (f"&{name}={token}", f"&session={token}", f"&token={token}&csrf={csrf}"):
            with pytest.raises(InvalidStatus) as refused:
                await connect(
                    _ws(served, console.path + query),
                    origin=served.base_url,  # type: ignore[arg-type]
                    open_timeout=10,
                )
            assert refused.value.response.status_code == 403
        # The same token as the cookie opens the socket: it was the URL that did not count.
        async with connect(
            _ws(served, console.path),
            origin=served.base_url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"{name}={token}"},
            open_timeout=10,
        ) as ws:
            assert '"hello"' in str(await asyncio.wait_for(ws.recv(), 10))
