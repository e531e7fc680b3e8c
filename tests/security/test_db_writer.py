"""Someone who can write the database, and nothing else, against a real server (SECURITY R-25,
issue 13 (1)).

The attacker has SQL access to the database only: no key directory (so neither the server
secret nor the service key), and none of the counsellor's secrets. Everything they do here is a
direct SQL write; everything they try is an ordinary request to the running service:

- a ``staff_sessions`` row with a cookie of their choice and ``created_at = now`` is no session
  (R-25: session digests are keyed with the server secret), so it can neither ask for a
  fresh-login proof nor register a device, and the staff socket refuses it (R-2);
- a counsellor's password hash and TOTP secret overwritten with ones they know log no one in
  (R-8, R-9, R-25: the stored TOTP secret must open under a key from the server secret, for
  that very account);
- even with a real login of the counsellor (their password and code phished as well), the
  database gets them no device (R-25: a new device needs the enrolment code of ``vhouse staff
  enrol``, kept only as a keyed digest), no duty (a device row they insert is not certified by
  the service key), and no young person's key (the young person's client checks the
  certificate before sealing, CRYPTO.md §3).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from typing import Any

import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.client.api import Credentials
from app.client.device import DeviceKeys
from app.config import Settings
from app.crypto import certs
from app.db import make_engine
from app.kit import b64
from app.kit.ids import new_token
from app.security import passwords, totp
from app.security.secret import keyed_digest
from tests.conftest import Server, StaffAccount
from tests.support import Harness, call, new_staff, next_code, staff_login, unique_language

ATTACKER_PASSWORD = "the attacker knows this one 77"


async def _sql(server: Server, statement: str, **params: Any) -> None:
    """One SQL write, as a database client would send it (no ORM, no app code)."""
    engine = make_engine(Settings(mode="test", database_url=server.database.url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


async def _scalar(server: Server, statement: str, **params: Any) -> Any:
    engine = make_engine(Settings(mode="test", database_url=server.database.url))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(statement), params)).scalar()
    finally:
        await engine.dispose()


def _ws(server: Server, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


async def _login(server: Server, username: str, password: str, code: str) -> tuple[int, Any]:
    body = {"username": username, "password": password, "totp": code}
    return await call(server, "POST", "/staff/api/login", body)


def _device_body(keys: DeviceKeys, **extra: Any) -> dict[str, Any]:
    return {"hpke_public_key": keys.hpke_public_key, "sig_public_key": keys.sig_public_key, **extra}


async def test_an_inserted_session_row_is_no_session(server: Server) -> None:
    """SECURITY R-25, R-2: a ``staff_sessions`` row written into the database, with a cookie of
    the writer's choice and ``created_at = now``, is refused everywhere: ``/me``, device
    registration, re-authentication (which would hand out a fresh-login proof) and the staff
    socket."""
    victim = await new_staff(server)
    now = time.time()
    guessed_secret = secrets.token_bytes(32)
    attempts = []
    for spelling in ("sha256", "guessed-hmac"):
        cookie, csrf = new_token(32), new_token(32)
        digest = (
            hashlib.sha256(cookie.encode()).hexdigest()
            if spelling == "sha256"
            else keyed_digest(guessed_secret, "staff-session", cookie)
        )
        await _sql(
            server,
            "INSERT INTO staff_sessions (token_digest, staff_id, csrf_token, created_at,"
            " last_seen_at) VALUES (:digest, :staff_id, :csrf, :now, :now)",
            digest=digest,
            staff_id=victim.staff_id,
            csrf=csrf,
            now=now,
        )
        attempts.append(Credentials("vh_staff", cookie, csrf, victim.staff_id))
    cookie_name = Settings(mode="test").cookie_name
    keys = DeviceKeys.generate()
    for forged in attempts:
        forged.cookie_name = cookie_name
        status, body = await call(server, "GET", "/staff/api/me", None, forged)
        assert (status, body["error"]["code"]) == (401, "not_authenticated")
        status, body = await call(server, "POST", "/staff/api/devices", _device_body(keys), forged)
        assert (status, body["error"]["code"]) == (401, "not_authenticated")
        reauth = {"password": victim.password, "totp": victim.code()}
        status, body = await call(server, "POST", "/staff/api/reauth", reauth, forged)
        assert (status, body["error"]["code"]) == (401, "not_authenticated")
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                _ws(server, "/ws/staff"),
                origin=server.base_url,  # type: ignore[arg-type]
                additional_headers={"Cookie": f"{cookie_name}={forged.cookie}"},
                open_timeout=10,
            ):
                pass
        assert refused.value.response.status_code == 403
    assert (
        await _scalar(server, "SELECT count(*) FROM devices WHERE staff_id = :s", s=victim.staff_id)
        == 0
    )


async def test_an_overwritten_password_and_totp_secret_log_no_one_in(server: Server) -> None:
    """SECURITY R-25, R-8, R-9: the writer replaces a counsellor's password hash with one of a
    password they know, and the TOTP secret with one they know: in plaintext, as a made-up
    sealed value, or as the sealed secret of an account of their own (where it does log in).
    None of them logs in as the counsellor."""
    victim = await new_staff(server)
    own: StaffAccount = await new_staff(server)  # e.g. the writer's own low-privilege account
    known_secret = totp.new_secret()
    known_hash = passwords.hash_password(ATTACKER_PASSWORD)
    made_up_sealed = "v1." + b64.encode(secrets.token_bytes(60))
    for stored in (known_secret, made_up_sealed):
        await _sql(
            server,
            "UPDATE staff SET password_hash = :h, totp_secret = :t WHERE id = :id",
            h=known_hash,
            t=stored,
            id=victim.staff_id,
        )
        code = totp.current_code(known_secret, time.time())
        status, body = await _login(server, victim.username, ATTACKER_PASSWORD, code)
        assert (status, body["error"]["code"]) == (401, "not_authenticated"), stored

    # The writer's own account's hash and sealed secret, copied onto the counsellor: they open
    # for the writer's account only (the staff id is the sealing's associated data).
    own_hash = await _scalar(
        server, "SELECT password_hash FROM staff WHERE id = :id", id=own.staff_id
    )
    own_sealed = await _scalar(
        server, "SELECT totp_secret FROM staff WHERE id = :id", id=own.staff_id
    )
    await _sql(
        server,
        "UPDATE staff SET password_hash = :h, totp_secret = :t WHERE id = :id",
        h=own_hash,
        t=own_sealed,
        id=victim.staff_id,
    )
    status, body = await _login(server, victim.username, own.password, own.code())
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    status, _ = await _login(server, own.username, own.password, await next_code(own))
    assert status == 200  # the same password and code are right for the writer's own account
    assert "totp_secret_unusable" in server.log()


async def test_a_login_gets_no_device_duty_or_key_from_database_writes(server: Server) -> None:
    """SECURITY R-25 (CRYPTO.md §3): with the counsellor's real password and code (phished) as
    well as the database, the writer still gets no certified device: without the enrolment code
    registration is refused, enrolment rows they insert match no code, a device row they
    insert is no usable device (no duty), and a young person paired with it by rows they wrote
    refuses its certificate: nothing is sealed to it."""
    language = unique_language()
    victim = await new_staff(server, languages=[language])
    creds = await staff_login(server, victim)
    keys = DeviceKeys.generate()

    status, body = await call(
        server,
        "POST",
        "/staff/api/devices",
        _device_body(keys, fresh_login=creds.fresh_login),
        creds,
    )
    assert (status, body["error"]["code"]) == (403, "enrol_code_required")

    code = "ABCDE-FGHJK"
    guessed_secret = secrets.token_bytes(32)
    for digest in (
        hashlib.sha256(code.encode()).hexdigest(),
        hashlib.sha256(b"ABCDEFGHJK").hexdigest(),
        keyed_digest(guessed_secret, "device-enrol", f"{victim.staff_id}\x00ABCDEFGHJK"),
    ):
        await _sql(
            server,
            "INSERT INTO device_enrolments (code_digest, staff_id, created_at, expires_at)"
            " VALUES (:d, :s, :now, :later)",
            d=digest,
            s=victim.staff_id,
            now=time.time(),
            later=time.time() + 86400,
        )
    body = _device_body(keys, fresh_login=creds.fresh_login, enrol_code=code)
    status, answer = await call(server, "POST", "/staff/api/devices", body, creds)
    assert (status, answer["error"]["code"]) == (403, "enrol_code_wrong")

    # A device row of the writer's keys, with a certificate the service key never signed.
    device_id = b64.encode(secrets.token_bytes(certs.ID_BYTES))
    not_after = int(time.time()) + 6 * 86400  # not due for renewal: the console uses it as is
    await _sql(
        server,
        "INSERT INTO devices (id, staff_id, hpke_public_key, sig_public_key, not_after,"
        " certificate, created_at) VALUES (:id, :s, :h, :g, :na, :c, :now)",
        id=device_id,
        s=victim.staff_id,
        h=keys.hpke_public_key,
        g=keys.sig_public_key,
        na=not_after,
        c=b64.encode(secrets.token_bytes(64)),
        now=time.time(),
    )
    status, _ = await call(server, "GET", f"/staff/api/devices/{device_id}", None, creds)
    assert status == 404
    keys.device_id, keys.staff_id, keys.not_after = device_id, victim.staff_id, not_after
    async with Harness(server) as h:
        console, _ = await h.console(victim, device=keys)
        await console.send({"type": "duty", "on": True})
        refused = await console.expect("error")
        assert refused["code"] == "device_required"

        # On duty with that device by a write of its own: a young person is paired with it...
        await _sql(
            server,
            "UPDATE staff SET on_duty = :t, duty_device_id = :d, heartbeat_at = :now,"
            " idle_since = 0 WHERE id = :id",
            t=True,
            d=device_id,
            now=time.time(),
            id=victim.staff_id,
        )
        youth = await h.youth()  # reads the frames as they come, to check as the page does
        await youth.join(language=language)
        paired = await youth.wait_paired()
        assert paired["device"]["device_id"] == device_id
        # ...whose client checks the certificate against the pinned service key: refused.
        with pytest.raises(certs.VerificationError):
            certs.DeviceCert.from_dict(paired["device"]).verify(
                server.service_key, int(time.time())
            )
        e2e = await h.youth(e2e=True)  # the sealing client itself: it never seals to it
        await e2e.join(language=language)
        with pytest.raises(certs.VerificationError):
            await e2e.wait_paired()
        await asyncio.sleep(0.5)
        assert not e2e.keys
        wraps = await _scalar(
            server,
            "SELECT count(*) FROM segments WHERE device_id = :d AND wrap_c IS NOT NULL",
            d=device_id,
        )
        assert wraps == 0
