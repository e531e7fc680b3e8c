"""``Outbox``: frames go out at once and in order; a full transport queues them behind a writer
that exists only while it is needed; a client that went away stops the sends."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.websockets import WebSocket

from app.relay import connection, frames
from app.relay.connection import Outbox


class Socket:
    """Stands in for the Starlette WebSocket: records what was sent; ``full`` makes sends wait
    (as uvicorn's do while the transport is over its high-water mark)."""

    def __init__(self) -> None:
        self.sent: list[object] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail: Exception | None = None

    async def send_text(self, text: str) -> None:
        await self.writable.wait()
        if self.fail is not None:
            raise self.fail
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        await self.writable.wait()
        self.sent.append(("close", code, reason))


def _outbox(ws: Socket, errors: list[str] | None = None) -> Outbox:
    return Outbox(cast(WebSocket, ws), errors.append if errors is not None else None)


def _writers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "ws-writer"]


async def test_a_frame_is_written_before_send_returns_and_no_task_is_left() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    outbox.send("a")
    outbox.send("b")
    assert ws.sent == ["a", "b"]
    assert _writers() == []


async def test_a_full_transport_queues_frames_in_order_then_direct_writes_resume() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    ws.writable.clear()
    outbox.send("1")
    outbox.send("2")
    outbox.send("3")
    assert ws.sent == []
    assert len(_writers()) == 1
    ws.writable.set()
    await outbox.flush(timeout=1)
    assert ws.sent == ["1", "2", "3"]
    assert _writers() == []
    outbox.send("4")  # written at once again
    assert ws.sent == ["1", "2", "3", "4"]


async def test_frames_sent_while_the_writer_drains_stay_in_order() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    ws.writable.clear()
    outbox.send("1")
    ws.writable.set()
    await asyncio.sleep(0)  # the writer is running now
    outbox.send("2")
    outbox.send("3")
    await outbox.flush(timeout=1)
    assert ws.sent == ["1", "2", "3"]


async def test_close_goes_after_queued_frames_and_later_sends_are_dropped() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    ws.writable.clear()
    outbox.send("last words")
    outbox.close(1000, "bye")
    outbox.send("too late")
    ws.writable.set()
    await outbox.flush(timeout=1)
    assert ws.sent == ["last words", ("close", 1000, "bye")]
    assert outbox.closing


async def test_close_on_an_idle_socket_is_sent_at_once() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    outbox.close(1011, "internal error")
    assert ws.sent == [("close", 1011, "internal error")]


async def test_a_client_that_does_not_read_is_closed_when_too_much_waits(monkeypatch: Any) -> None:
    monkeypatch.setattr(connection, "MAX_PENDING_FRAMES", 3)
    ws = Socket()
    outbox = _outbox(ws)
    ws.writable.clear()
    for n in range(10):
        outbox.send(str(n))
    assert outbox.closing
    ws.writable.set()
    await outbox.flush(timeout=1)
    assert ws.sent == ["0", "1", "2", "3", ("close", 1008, "client does not read")]


async def test_a_client_gone_under_a_send_stops_every_later_send() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    ws.fail = ConnectionResetError("gone")
    outbox.send("a")  # raised inside: not to the caller
    ws.fail = None
    outbox.send("b")
    outbox.close(1000)
    assert ws.sent == []


async def test_a_client_gone_while_queued_frames_wait_drops_them() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    ws.writable.clear()
    outbox.send("a")
    outbox.send("b")
    ws.fail = BrokenPipeError()
    ws.writable.set()
    await outbox.flush(timeout=1)
    ws.fail = None
    outbox.send("c")
    assert ws.sent == []
    assert _writers() == []


async def test_flush_gives_up_on_a_transport_that_never_drains() -> None:
    ws = Socket()
    outbox = _outbox(ws)
    ws.writable.clear()
    outbox.send("stuck")
    await outbox.flush(timeout=0.05)
    assert _writers() == []
    assert ws.sent == []


async def test_each_error_frame_is_counted_once_whether_written_or_queued() -> None:
    ws = Socket()
    errors: list[str] = []
    outbox = _outbox(ws, errors)
    outbox.send(frames.error("unavailable", "try again"))
    ws.writable.clear()
    outbox.send(frames.error("rate_limited", "slow down"))
    outbox.send("{}")
    ws.writable.set()
    await outbox.flush(timeout=1)
    assert errors == ["unavailable", "rate_limited"]
