"""The typed application state created by the lifespan and reached through dependencies.

Only what every package may use lives here (settings, database, broker, clock, limits, the
service key, the metrics), so that any package can import it. A package's own runtime object is
reached through that package's accessor, e.g. ``chat.store.get_store`` or
``triage.dispatcher.get_dispatcher``: nothing here imports a domain package back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from app.config import Settings
from app.events.broker import Broker
from app.kit.buckets import bucket, client_address
from app.kit.clock import Clock
from app.kit.ratelimit import KeyedSlots, KeyedWindows
from app.metrics import Metrics


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: Broker
    clock: Clock
    join_limits: KeyedWindows
    #: Return-code lookups per client bucket (PROTOCOL.md §6.5).
    return_limits: KeyedWindows
    #: Certifies counsellor devices; its public half is rendered into every page (CRYPTO.md §2).
    service_key: ec.EllipticCurvePrivateKey
    #: The app's Prometheus instruments, in its own registry (``app.metrics``).
    metrics: Metrics
    #: Console sockets per staff member in this process (the last one closing ends duty).
    presence: dict[str, int] = field(default_factory=dict)
    #: Per-process secret for keyed hashes of client buckets (rate limits); never stored (S-15).
    bucket_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: Open sockets per client bucket in this process (``ws_sockets_per_client``).
    socket_slots: KeyedSlots = field(init=False)
    #: After-chat feedback answers per client bucket (``youth_feedback_per_window``).
    feedback_limits: KeyedWindows = field(init=False)

    def __post_init__(self) -> None:
        self.socket_slots = KeyedSlots(self.settings.ws_sockets_per_client)
        self.feedback_limits = KeyedWindows(
            self.settings.youth_feedback_per_window, self.settings.youth_join_window_seconds
        )

    def client_bucket(self, conn: HTTPConnection) -> str:
        """A keyed hash of the client's network address, for rate limits held in memory only.

        Behind a configured proxy the address is the nearest untrusted hop of X-Forwarded-For
        (otherwise every young person would share the proxy's bucket); from anywhere else the
        header is ignored, so a client cannot pick its own bucket.
        """
        peer = conn.client.host if conn.client else ""
        address = client_address(
            peer, conn.headers.get("x-forwarded-for"), self.settings.trusted_proxies
        )
        return bucket(self.bucket_secret, address)


def get_state(conn: HTTPConnection) -> AppState:
    return state_of(conn.app)


def state_of(app: Starlette) -> AppState:
    """The state of ``app`` (a FastAPI app whose lifespan has started); ``AttributeError``
    before that."""
    state: AppState = app.state.vh
    return state
