"""A conversation link told ``on_missed`` catches up from the store: every stored envelope of
the other side it has not relayed yet, once each, and nothing of its own side (PROTOCOL.md §4)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.chat.envelope import Envelope
from app.events import messages
from app.events.broker import Handler, MemoryBroker, MissedHandler, Unsubscribe
from app.relay import frames
from app.relay.connection import ConversationLink, ended_message

CONV = "c" * 22


class Broker(MemoryBroker):
    """The in-process broker, keeping each subscription's ``on_missed`` for the test to call."""

    def __init__(self) -> None:
        super().__init__()
        self.missed: list[MissedHandler] = []

    async def subscribe(
        self, channel: str, handler: Handler, *, on_missed: MissedHandler | None = None
    ) -> Unsubscribe:
        if on_missed is not None:
            self.missed.append(on_missed)
        return await super().subscribe(channel, handler, on_missed=on_missed)


class Store:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.reads = 0

    async def read(self, conv_id: str) -> list[Envelope]:
        self.reads += 1
        await asyncio.sleep(0)
        return [e for e in self.envelopes if e.conv == conv_id]


class Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        self.sent.append(text)


def envelope(role: str, seq: int) -> Envelope:
    return Envelope(conv=CONV, seg=0, role=role, inst="AAAAAAAAAAAAAAAAAAAAAA", seq=seq, ct="Y3Q")


async def _link(*, catch_up: bool) -> tuple[ConversationLink, Broker, Store, Outbox]:
    broker, store, outbox = Broker(), Store(), Outbox()
    link = ConversationLink(CONV, "C", outbox, store, broker, lambda _: None)  # type: ignore[arg-type]
    await link.open(catch_up=catch_up)
    return link, broker, store, outbox


async def settle(store: Store, reads: int) -> None:
    for _ in range(100):
        if store.reads >= reads:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)


async def test_missed_envelopes_are_sent_once_and_own_ones_never() -> None:
    link, broker, store, outbox = await _link(catch_up=True)
    live = envelope("Y", 1)
    store.envelopes.append(live)
    broker.publish(f"conv:{CONV}", messages.envelope_event(live))  # relayed live
    lost = [envelope("Y", 2), envelope("Y", 3)]
    store.envelopes += [*lost, envelope("C", 1)]  # stored and acked; their relay was lost
    for told in broker.missed * 2:  # told twice at once: one catch-up, then one more
        told()
    await settle(store, 3)
    frames: list[Any] = [e.delivery_frame() for e in (live, *lost)]
    assert outbox.sent == frames  # each once, in stored order, none of the counsellor's own
    link.close()


async def test_before_the_clients_first_sync_a_catch_up_waits_for_that_sync() -> None:
    link, broker, store, outbox = await _link(catch_up=False)  # a reconnect: the client syncs
    store.envelopes.append(envelope("Y", 1))
    broker.missed[0]()
    await asyncio.sleep(0.05)
    assert outbox.sent == []  # the client's sync replays it; no second copy before it
    link.close()


def test_the_stored_row_says_how_a_conversation_ended() -> None:
    assert ended_message(CONV, "open", None) is None
    assert ended_message(CONV, "requeued", None) is None  # it waits again: nothing ended
    assert ended_message(CONV, "closed", "Y") == messages.Closed(CONV, by="Y", reason="closed")
    assert ended_message(CONV, "abandoned", None) == messages.Closed(
        CONV, by="Y", reason="abandoned"
    )
    assert ended_message(CONV, None, None) == messages.Closed(CONV, by="C", reason="deleted")


def _ending_link(
    role: str, status: dict[str, str]
) -> tuple[ConversationLink, Broker, Store, Outbox, list[str]]:
    """A link (not yet open) whose store says the conversation is ``status["now"]`` (if ended,
    by the other side); the last list collects the conversations it reported ended."""
    broker, store, outbox = Broker(), Store(), Outbox()
    ended: list[str] = []
    other = "C" if role == "Y" else "Y"

    async def in_store(conv_id: str) -> messages.Closed | None:
        return ended_message(conv_id, status["now"], other)

    link = ConversationLink(
        CONV,
        role,
        outbox,
        store,
        broker,
        ended.append,
        ended=in_store,  # type: ignore[arg-type]
    )
    return link, broker, store, outbox, ended


async def test_a_lost_close_is_found_in_the_store_by_the_catch_up() -> None:
    status = {"now": "open"}
    link, broker, store, outbox, ended = _ending_link("Y", status)
    await link.open(catch_up=True)
    broker.missed[0]()  # still open: the catch-up says nothing
    await settle(store, 2)
    assert outbox.sent == []
    assert ended == []
    status["now"] = "closed"  # the counsellor closed it; the Closed message was lost
    broker.missed[0]()
    await settle(store, 3)
    closed = frames.closed(messages.Closed(CONV, by="C", reason="closed"))
    assert outbox.sent == [closed]
    assert ended == [CONV]


async def test_a_link_opened_on_a_conversation_that_ended_meanwhile_says_closed() -> None:
    """The young person leaves the moment they are paired, before the console's link has
    subscribed: the ``Closed`` went by unheard, and the opening link finds it in the store."""
    for catch_up in (True, False):  # a new assignment, and a console's or page's reconnect
        link, _, _, outbox, ended = _ending_link("C", {"now": "closed"})
        await link.open(catch_up=catch_up)
        assert outbox.sent == [frames.closed(messages.Closed(CONV, by="Y", reason="closed"))]
        assert ended == [CONV]
