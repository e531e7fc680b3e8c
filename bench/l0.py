"""L0: the bare relay of PERFORMANCE.md — forwards each frame to the other side of a pair.

No auth, no storage, no crypto: the limit a Python relay reaches on this machine. Served with the
same uvicorn settings as the app (bench/relay.py). A client's first frame is its pair id; the
second client with that id completes the pair; a client that never gets its pair just holds
an idle connection (P-1).
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

# pair id -> (the first client's send, a future for the second client's send)
_waiting: dict[str, tuple[Send, asyncio.Future[Send]]] = {}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    first = await receive()
    pair_id = str(first.get("text", ""))
    # The next frame is read from the start, so that a socket that leaves before its pair
    # came (P-1's idle sockets) ends its handler instead of waiting for ever.
    pending = asyncio.ensure_future(receive())
    if pair_id in _waiting:
        peer_send, future = _waiting.pop(pair_id)
        future.set_result(send)
    else:
        future = asyncio.get_running_loop().create_future()
        _waiting[pair_id] = (send, future)
        await asyncio.wait({future, pending}, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
        if not future.done():
            _waiting.pop(pair_id, None)
            return
        peer_send = future.result()
    message = await pending
    while True:
        if message["type"] != "websocket.receive":
            return
        await peer_send({"type": "websocket.send", "text": message.get("text")})
        message = await receive()
