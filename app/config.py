"""One Settings object for the whole service (environment prefix ``VH_``).

Secrets have no defaults outside demo mode: production must fail fast when one is missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./var/virtual-house.sqlite3"
_QUEUE = re.compile(r"^(youth|professional)(/[a-z0-9_-]{1,32})?$")
_LOCALE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")
#: Where the quick exit leads when no setting names the page's language (SAFETY S-1): public
#: front pages that are neither a search nor personalised, so nothing lands in a signed-in
#: account's history and the page looks like ordinary browsing. Any other language: Swedish.
QUICK_EXIT_DEFAULTS: dict[str, str] = {
    "sv": "https://www.smhi.se/",
    "en": "https://www.bbc.com/weather",
    "ar": "https://ar.wikipedia.org/",
}
QUICK_EXIT_FALLBACK = "sv"
#: Query parameters that make a page a search whose words stay in a signed-in account.
_SEARCH_PARAMS = {"q", "query", "search", "s"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VH_", extra="ignore")

    mode: Literal["production", "demo", "test"] = "production"
    database_url: str = DEFAULT_SQLITE_URL
    #: ``memory://`` (one process) or ``redis://host:6379/0`` (many processes, DESIGN.md §5).
    broker_url: str = "memory://"
    #: Prefix of this house's channel names on Redis: houses (or tests) sharing one Redis stay
    #: apart by it (pub/sub ignores the database number).
    broker_prefix: str = Field("vh:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    #: The service signing key (CRYPTO.md §2): a 0600 PKCS#8 PEM file made by ``vhouse keys init``,
    #: never in the database. No default: ``vhouse demo`` makes one under ./var/.
    service_key_file: Path | None = None

    #: Public origin(s) allowed to open WebSockets and post to the API (R-1).
    allowed_origins: list[str] = Field(default_factory=list)
    #: Addresses of the reverse proxies whose X-Forwarded-For is believed (R-18). Only used to
    #: tell clients apart for rate limits, hashed, in memory (S-15); never stored or logged.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: Where the quick exit leads (S-1) in every language without its own entry in
    #: ``quick_exit_urls``: a neutral page that is neither a search nor personalised. Unset:
    #: ``QUICK_EXIT_DEFAULTS`` per language. An ``https://`` address or a path of this site.
    quick_exit_url: str | None = None
    #: Per-language destinations, e.g. ``{"sv": "https://www.smhi.se/", "ar": "…"}`` (JSON);
    #: they win over ``quick_exit_url`` for their language.
    quick_exit_urls: dict[str, str] = Field(default_factory=dict)

    # --- triage and entry (issue 4; app/triage/setup.py) ---
    #: The triage question set (JSON); default: the shipped set in sv, en, ar.
    triage_questions_file: Path | None = None
    #: Opening hours, exceptions and other helplines (JSON); default: always open, 112 only.
    opening_hours_file: Path | None = None
    #: Turn joins away with "no one on duty" while no counsellor is on duty (never a silent wait).
    refuse_when_unstaffed: bool = True
    #: Supervisor alerts: a wait, a queue length, an urgent ticket's wait over these.
    alert_max_wait_seconds: float = 600.0
    alert_max_queue: int = 10
    alert_urgent_grace_seconds: float = 60.0
    #: Service level on the statistics page: the share of served chats answered within this.
    service_level_minutes: float = Field(2.0, gt=0, le=24 * 60)

    # --- staff sessions (R-11) ---
    session_idle_seconds: int = 15 * 60
    session_absolute_seconds: int = 8 * 60 * 60
    #: An on-duty console is warned this long before its session's absolute limit, and offered
    #: re-authentication (password + TOTP) that starts a new absolute period for the session.
    session_warn_seconds: int = 10 * 60
    #: ``__Host-`` cookies must be Secure; only demo/test over plain http turn this off.
    cookie_secure: bool = True
    login_failures_allowed: int = 5
    login_failure_window_seconds: int = 15 * 60
    #: Login attempts per client bucket (a keyed hash of the address, in memory) and minute.
    login_attempts_per_minute: int = Field(20, ge=1)
    #: Password hashes (argon2) run at once; 0: one fewer than the CPUs, at least one.
    login_hash_concurrency: int = Field(0, ge=0)
    #: Logins in progress at once (hashing or waiting to hash); more get 503 ``login_busy``.
    login_queue_max: int = Field(16, ge=1)

    #: Largest HTTP request body accepted (413 ``too_large`` beyond it).
    http_max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # --- WebSockets (R-5, R-6, R-7) ---
    ws_max_frame_bytes: int = 64 * 1024
    ws_frames_per_minute: int = 100
    #: Open sockets (youth and staff together) per client bucket in one process: a school or a
    #: shelter shares one address, so generous; a flood from one address is not (issue 13).
    ws_sockets_per_client: int = Field(default=50, ge=1)
    ws_ping_interval_seconds: float = 20.0
    ws_ping_timeout_seconds: float = 20.0
    #: Joins that entered the queue, per client bucket and window (refused joins do not count;
    #: why these numbers: docs/PROTOCOL.md §2.1 "Join limit").
    youth_joins_per_window: int = 6
    youth_join_window_seconds: int = 600
    #: Return-code lookups allowed per client bucket in the same window.
    youth_returns_per_window: int = 10
    #: After-chat feedback answers tried per client bucket in the same window (a school shares
    #: one address, and each chat answers at most once).
    youth_feedback_per_window: int = Field(default=30, ge=1)
    #: How long after a chat ends its page may still ask for a return code (the page keeps the
    #: chat's keys in memory until then, or until the young person moves on).
    late_return_code_seconds: int = Field(default=15 * 60, ge=0, le=24 * 3600)
    queue_cap: int = 500

    # --- shifts (DESIGN.md §5) ---
    #: A counsellor on duty whose consoles have all been silent this long goes off duty, and
    #: their unanswered chats go back to the front of the queue. Consoles beat every 5 s.
    staff_heartbeat_timeout_seconds: float = 30.0
    #: A chat whose counsellor device has not accepted its segment key this long after the
    #: pairing (or handover) goes back to the front of the queue (PROTOCOL.md §6.3).
    accept_timeout_seconds: float = 20.0
    #: A chat whose young person's connection has been gone this long (tab closed, phone locked)
    #: ends as ``abandoned`` and frees the counsellor's seat; a resume before that continues it.
    youth_grace_seconds: float = 120.0

    # --- devices (CRYPTO.md §2) ---
    #: A counsellor device certificate's lifetime; a console renews it at a fresh login.
    device_days: int = Field(7, ge=1, le=90)
    #: A device is certified only this soon after a password+TOTP login.
    device_fresh_login_seconds: int = 10 * 60
    #: How long an enrolment code of ``vhouse staff enrol`` (a new device's second factor) lives.
    device_enrol_seconds: int = Field(15 * 60, ge=60, le=7 * 86400)

    # --- vulnerability reports (SECURITY.md, RFC 9116) ---
    #: The deploying centre's own security contact, a ``mailto:`` or ``https:`` URI; served as
    #: ``/.well-known/security.txt`` when set (404 when not).
    security_contact: str | None = None

    # --- retention (CRYPTO.md §6; docs/OPERATIONS.md) ---
    #: Days a conversation is kept after it ends (or after the young person's last return
    #: visit), then purged and its bucket key destroyed.
    retention_days: int = Field(30, ge=1, le=365)
    #: Per-queue overrides, e.g. ``{"professional": 90, "youth/police": 14}`` (JSON).
    retention_by_queue: dict[str, int] = Field(default_factory=dict)
    #: Days a week's bucket key outlives its week (clock skew, a purge that ran late).
    bucket_grace_days: int = Field(3, ge=0, le=14)
    #: The key directory (0700) holding the expiry bucket keys; never inside a backup of the
    #: database. Default: ``buckets/`` beside the service key file.
    key_dir: Path | None = None
    #: How often the server's purge task runs (``vhouse purge`` does the same from cron).
    purge_interval_seconds: float = Field(300.0, gt=0)

    # --- relay ---
    #: Largest number of envelopes committed in one transaction by the group-commit writer.
    commit_batch_max: int = 256

    # --- monitoring ---
    #: ``host:port`` (``[::1]:9100`` for IPv6) of an internal listener that ``vhouse serve``
    #: starts beside the service, serving only ``GET /metrics``, without a session: bind it to
    #: a loopback or private address. Unset: ``/metrics`` is on the service's port, for admins.
    metrics_bind: str | None = None

    # --- TLS (docs/OPERATIONS.md "TLS") ---
    #: PEM certificate chain and private key: ``vhouse serve`` terminates TLS itself (TLS 1.2 at
    #: least), ``wss://`` without a proxy. Both or neither; ``--tls-cert``/``--tls-key`` win.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    @field_validator("retention_by_queue")
    @classmethod
    def _queues(cls, value: dict[str, int]) -> dict[str, int]:
        for queue, days in value.items():
            if not _QUEUE.match(queue):
                raise ValueError(
                    f"{queue!r} is not a queue: youth or professional, optionally /skill"
                )
            if not 1 <= days <= 365:
                raise ValueError(f"{queue}: retention must be 1 to 365 days")
        return value

    @field_validator("quick_exit_url")
    @classmethod
    def _exit_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_exit_url(value.strip())

    @field_validator("quick_exit_urls")
    @classmethod
    def _exit_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for code in value:
            if not _LOCALE.match(code):
                raise ValueError(f"{code!r} is not a language code such as sv, ar or fa")
        return {code: check_exit_url(url.strip()) for code, url in value.items()}

    def quick_exit_for(self, locale: str | None) -> str:
        """The quick exit's destination on a page in ``locale`` (None: a page of no language):
        its own entry, else ``quick_exit_url``, else the shipped default for it, else Swedish's."""
        code = locale or QUICK_EXIT_FALLBACK
        if code in self.quick_exit_urls:
            return self.quick_exit_urls[code]
        if self.quick_exit_url is not None:
            return self.quick_exit_url
        return QUICK_EXIT_DEFAULTS.get(code, QUICK_EXIT_DEFAULTS[QUICK_EXIT_FALLBACK])

    @field_validator("security_contact")
    @classmethod
    def _security_contact(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_security_contact(value.strip())

    @field_validator("metrics_bind")
    @classmethod
    def _bind(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_bind(value)
        return value.strip()

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        check_tls(self.tls_cert_file, self.tls_key_file)
        return self

    @property
    def serves_tls(self) -> bool:
        return self.tls_cert_file is not None

    def metrics_address(self) -> tuple[str, int] | None:
        """``VH_METRICS_BIND`` as (host, port), or None when unset."""
        return None if self.metrics_bind is None else parse_bind(self.metrics_bind)

    def bucket_key_dir(self) -> Path | None:
        """Where the bucket keys are: ``key_dir``, else ``buckets/`` beside the service key."""
        if self.key_dir is not None:
            return self.key_dir
        if self.service_key_file is not None:
            return self.service_key_file.parent / "buckets"
        return None

    def check_serving(self) -> None:
        """Raise ``ValueError`` when these settings cannot serve safely (checked by create_app)."""
        if self.mode == "production" and not self.allowed_origins:
            raise ValueError("VH_ALLOWED_ORIGINS must name the public origin(s) in production")
        if self.mode == "production" and not self.cookie_secure:
            raise ValueError("VH_COOKIE_SECURE must stay on in production")
        if self.serves_tls and not self.cookie_secure:
            raise ValueError("VH_COOKIE_SECURE must stay on when serving TLS")
        if self.mode != "test" and self.service_key_file is None:
            raise ValueError("VH_SERVICE_KEY_FILE must name the service key ('vhouse keys init')")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookie_name(self) -> str:
        return "__Host-vh_staff" if self.cookie_secure else "vh_staff"

    @property
    def docs_enabled(self) -> bool:
        return self.mode != "production"

    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL (``None`` for other databases or ``:memory:``)."""
        if not self.is_sqlite:
            return None
        tail = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        if not tail or tail.startswith(":memory:"):
            return None
        return Path(tail.split("?", 1)[0])


def check_exit_url(url: str) -> str:
    """``url`` if it can be the quick exit's destination (S-1); ``ValueError`` otherwise.

    An absolute ``https://`` address, or a path of this site (``/…``, as the tests' stub page).
    Never a search: a query such as ``?q=weather`` is kept in a signed-in account's history.
    """
    parts = urlsplit(url)
    local = (
        not parts.scheme and not parts.netloc and url.startswith("/") and not url.startswith("//")
    )
    if not local and (parts.scheme != "https" or not parts.hostname):
        raise ValueError(f"{url!r}: the quick exit needs an https:// address or a path such as /x")
    searched = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if searched & _SEARCH_PARAMS or "search" in parts.path.lower():
        raise ValueError(
            f"{url!r} looks like a search: its words stay in a signed-in account's history; "
            "choose a front page that is neither a search nor personalised"
        )
    return url


def check_tls(cert: Path | None, key: Path | None) -> None:
    """``ValueError`` unless both or neither of the certificate and key are given, and each
    given one is a readable file (read now, so that a typo stops the server before it starts)."""
    if (cert is None) != (key is None):
        raise ValueError("TLS needs both VH_TLS_CERT_FILE and VH_TLS_KEY_FILE, or neither")
    for what, path in (("certificate", cert), ("key", key)):
        if path is None:
            continue
        try:
            with path.open("rb") as f:
                first = f.read(65536)
        except OSError as exc:
            raise ValueError(f"TLS {what} {path}: {exc.strerror or exc}") from None
        if b"-----BEGIN" not in first:
            raise ValueError(f"TLS {what} {path}: not a PEM file")


def parse_bind(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6-address]:port`` as (host, port); ``ValueError`` otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, e.g. [::1]:9100")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port, e.g. 127.0.0.1:9100")
    return host, int(port)


_MAILTO = re.compile(r"^mailto:[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def check_security_contact(value: str) -> str:
    """``VH_SECURITY_CONTACT``: a ``mailto:`` address or an ``https:`` URI with a host (RFC
    9116 §2.5.3), nothing that could break the file's lines. Raises ``ValueError``."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("the security contact must be one URI, without spaces or line breaks")
    if value.lower().startswith("mailto:"):
        if not _MAILTO.match(value):
            raise ValueError("the security contact must be mailto:name@domain or an https: URI")
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("the security contact must be mailto:name@domain or an https: URI")
    return value
