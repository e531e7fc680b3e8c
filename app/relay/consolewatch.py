"""The periodic check of an open console (SECURITY R-3, R-11; issue 11 §3).

Every ``QUICK_CHECK_SECONDS`` a read-only look at the console's session and account: a session
deleted (logout, ``vhouse staff disable``, a password or TOTP reset — from the admin pages of
any process or from the CLI, which has no broker to tell the sockets) or an account disabled
ends the socket within that time, and so does a revoked device (with its shift, when it was
the duty device); an edit of the account (role, alias, languages, skills,
capacity, organisation) is taken up at once, and a routing edit asks for matching, so that a
counsellor on duty who gains a language is routed its waiting young person without going off
and on duty. Every ``SESSION_CHECK_SECONDS`` the full check in a transaction: the session kept
alive while the console works, the heartbeat (docs/PROTOCOL.md §7.4), the absolute-limit warning,
and any assignment or transfer whose broker message was lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from app.chat import repository as chat_repo
from app.db import snapshot, transaction
from app.events import messages
from app.keys import repository as keys_repo
from app.keys.devices import DeviceCert
from app.models import Staff
from app.security import service as security_service
from app.staff import shifts
from app.state import AppState

log = logging.getLogger(__name__)

#: How often the session and account are read: a session ended elsewhere closes within this.
QUICK_CHECK_SECONDS = 2.5
#: How often (a multiple of the quick check) the heartbeat and keep-alive are written.
SESSION_CHECK_SECONDS = 5.0


class Console(Protocol):
    state: AppState
    device: DeviceCert | None

    @property
    def staff_id(self) -> str: ...

    def working(self) -> bool:
        """On duty or holding chats: the heartbeat counts as activity."""

    @property
    def last_activity(self) -> float: ...

    async def session_over(self, now: float, *, device_revoked: bool = False) -> None: ...

    def warn_expiry(self, expires_at: float, now: float) -> None: ...

    def account_changed(self, staff: Staff, *, routing: bool) -> None: ...

    @property
    def links(self) -> Mapping[str, object]: ...

    async def pick_up(
        self, convs: list[chat_repo.ConversationInfo], gone: list[messages.Transferred]
    ) -> None: ...


def lost_transfers(
    staff_id: str, followed: list[chat_repo.ConversationInfo | None]
) -> list[messages.Transferred]:
    """What ``Transferred`` the console missed, from the stored rows of the conversations it
    follows but no longer holds: back in a queue, or open with a colleague. (A deleted or
    closed one is the link's own catch-up's to tell.)"""
    lost = []
    for info in followed:
        if info is None:
            continue
        if info.status == "requeued":
            lost.append(messages.Transferred(info.id, to=None, reason=None))
        elif info.status == "open" and info.staff_id != staff_id:
            lost.append(messages.Transferred(info.id, to=info.alias, reason="transfer"))
    return lost


def _routing(staff: Staff) -> tuple[str, str, int, str]:
    return (staff.languages, staff.skills, staff.capacity, staff.organisation)


async def watch(console: Console, digest: str, staff: Staff) -> None:
    """Run the checks until the session is over (then ``console.session_over``)."""
    state = console.state
    seen = (staff.role, staff.alias, _routing(staff))
    ticks_per_check = max(1, round(SESSION_CHECK_SECONDS / QUICK_CHECK_SECONDS))
    tick = 0
    while True:
        await asyncio.sleep(QUICK_CHECK_SECONDS)
        tick += 1
        now = state.clock()
        device = console.device
        try:
            async with snapshot(state.sessionmaker) as session:
                account = await security_service.live_account(session, digest)
                row = None if device is None else await keys_repo.device(session, device.device_id)
        except Exception as exc:
            log.warning("console session check failed: %s", type(exc).__name__)
            continue
        if account is None:
            await console.session_over(now)
            return
        if row is not None and row.revoked_at is not None:  # ``vhouse staff revoke-device``
            duty = device is not None and account.duty_device_id == device.device_id
            await console.session_over(now, device_revoked=duty)
            return
        now_seen = (account.role, account.alias, _routing(account))
        if now_seen != seen:
            routing = now_seen[2] != seen[2]
            seen = now_seen
            console.account_changed(account, routing=routing)
        if tick % ticks_per_check:
            continue
        if not await _full_check(console, digest, now):
            return


async def _full_check(console: Console, digest: str, now: float) -> bool:
    """Keep-alive, heartbeat, expiry warning, lost assignments; False when the session ended."""
    state = console.state
    try:
        async with transaction(state.sessionmaker) as session:
            expires_at = await security_service.keep_alive(
                session,
                state.settings,
                digest,
                last_activity=now if console.working() else console.last_activity,
                now=now,
            )
            if expires_at is not None:
                await shifts.heartbeat(session, console.staff_id, now)
            convs = await chat_repo.open_conversations_of(session, console.staff_id)
            held = {c.id for c in convs}
            followed = [
                await chat_repo.conversation(session, c)
                for c in list(console.links)
                if c not in held
            ]
    except Exception as exc:
        log.warning("console session check failed: %s", type(exc).__name__)
        return True
    if expires_at is None:
        await console.session_over(now)
        return False
    console.warn_expiry(expires_at, now)
    await console.pick_up(convs, lost_transfers(console.staff_id, followed))
    return True
