"""PROTOCOL.md §6 on a real server: devices, sealing, acceptance, return codes, with the Python
client doing the real cryptography (CRYPTO.md §3) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect

from app.client import CounsellorClient, YouthClient
from app.client.device import DeviceKeys
from app.client.envelopes import open_text
from app.crypto import certs, returncode
from app.kit import b64
from tests.conftest import Server, _enrol_code
from tests.support import (
    Harness,
    call,
    expect_error,
    new_staff,
    shared_server,
    staff_login,
    unique_language,
)

server = shared_server()


# ---------------------------------------------------------------------- devices


async def test_a_registered_device_is_certified_by_the_service_key(server: Server) -> None:
    account = await new_staff(server)
    creds = await staff_login(server, account)
    keys = DeviceKeys.generate()
    body = {
        "hpke_public_key": keys.hpke_public_key,
        "sig_public_key": keys.sig_public_key,
        "fresh_login": creds.fresh_login,
        "enrol_code": await _enrol_code(server.database, account.staff_id),
    }
    status, info = await call(server, "POST", "/staff/api/devices", body, creds)
    assert status == 201, info
    assert info["staff_id"] == creds.staff_id
    assert info["hpke_public_key"] == keys.hpke_public_key
    assert time.time() + 6 * 86400 < info["not_after"] <= time.time() + 7 * 86400 + 5
    certs.verify_device_cert(
        server.service_key,
        b64.decode(info["staff_id"]),
        b64.decode(info["device_id"]),
        b64.decode(info["hpke_public_key"]),
        b64.decode(info["sig_public_key"]),
        info["not_after"],
        b64.decode(info["certificate"]),
        int(time.time()),
    )
    status, again = await call(
        server, "GET", f"/staff/api/devices/{info['device_id']}", None, creds
    )
    assert (status, again) == (200, info)

    other = await staff_login(server, await new_staff(server))
    status, error = await call(
        server, "GET", f"/staff/api/devices/{info['device_id']}", None, other
    )
    assert status == 404
    assert error["error"]["code"] == "not_found"


async def test_device_registration_refuses_bad_requests(server: Server) -> None:
    account = await new_staff(server)
    creds = await staff_login(server, account)
    keys = DeviceKeys.generate()
    good = {
        "hpke_public_key": keys.hpke_public_key,
        "sig_public_key": keys.sig_public_key,
        "fresh_login": creds.fresh_login,
        # Each refusal below leaves the code unused: the last request still registers.
        "enrol_code": await _enrol_code(server.database, account.staff_id),
    }

    status, error = await call(server, "POST", "/staff/api/devices", good, creds, csrf=False)
    assert status == 403
    assert error["error"]["code"] == "forbidden"
    status, error = await call(server, "POST", "/staff/api/devices", good)
    assert status == 401
    assert error["error"]["code"] == "not_authenticated"

    off_curve = b64.encode(b"\x04" + b"\x01" * 64)
    for bad in (
        {**good, "hpke_public_key": off_curve},
        {**good, "sig_public_key": "x" * 87},
        {**good, "sig_public_key": good["hpke_public_key"]},
        {"hpke_public_key": good["hpke_public_key"]},
        {**good, "extra": 1},
        {**good, "fresh_login": "v1." + "1" * 200},
    ):
        status, error = await call(server, "POST", "/staff/api/devices", bad, creds)
        assert status == 422, bad
        assert error["error"]["code"] == "invalid_request"
        assert off_curve not in json.dumps(error)
    status, info = await call(server, "POST", "/staff/api/devices", good, creds)
    assert status == 201, info


async def test_the_keys_endpoint_names_the_service_key(server: Server) -> None:
    status, info = await call(server, "GET", "/api/keys")
    assert status == 200
    assert b64.decode(info["service_key"]) == server.service_key
    assert info["fingerprint"]


async def test_going_on_duty_needs_a_usable_device(server: Server) -> None:
    creds = await staff_login(server, await new_staff(server))
    cookie = {"Cookie": f"{creds.cookie_name}={creds.cookie}"}
    ws_url = server.base_url.replace("http://", "ws://")
    for query in ("", "?device=", "?device=AAAAAAAAAAAAAAAAAAAAAA", "?device=../../etc"):
        async with connect(
            f"{ws_url}/ws/staff{query}", origin=server.base_url, additional_headers=cookie
        ) as ws:  # type: ignore[arg-type]
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello"
            assert hello["device"] is None
            await ws.send(json.dumps({"type": "duty", "on": True}))
            error = json.loads(await ws.recv())
            assert error["code"] == "device_required", error


# ---------------------------------------------------------------------- sealing and acceptance


async def test_an_end_to_end_chat_reads_only_with_the_keys(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        account = await new_staff(server, languages=[language])
        staff, _ = await h.console(account)
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        paired = await youth.wait_paired()
        conv = paired["conv"]
        assert paired["device"]["device_id"] == staff.device.device_id  # type: ignore[union-attr]
        key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.accepted == {0}
        assert key == youth.key

        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "hej, jag behöver hjälp"))
        reply = staff.senders[conv].text_envelope(key, "Hej! Jag finns här.")
        await staff.send_envelope(reply)
        got = await youth.expect("envelope")
        assert open_text(youth.key, youth.envelopes[-1]) == "Hej! Jag finns här."
        assert got["envelope"]["seq"] == reply.seq
        await staff.expect("envelope")
        assert open_text(key, staff.envelopes[-1]) == "hej, jag behöver hjälp"

        # A console that reconnects on the same device gets the sealed key again in hello.
        again = CounsellorClient(server.base_url, device=staff.device)
        h.clients.append(again)
        hello = await again.connect(await staff_login(server, account))
        listed = {c["conv"]: c for c in hello["conversations"]}
        assert listed[conv]["accepted"] is True
        assert listed[conv]["device"] == staff.device.device_id  # type: ignore[union-attr]
        assert again.keys[(conv, 0)] == key


async def _connected_pair(h: Harness, **console: Any) -> tuple[CounsellorClient, YouthClient, str]:
    language = unique_language()
    staff, _ = await h.console(await new_staff(h.server, languages=[language]), **console)
    await staff.duty(True)
    youth = await h.youth(e2e=True)
    await youth.join(language=language)
    paired = await youth.wait_paired()
    return staff, youth, paired["conv"]


async def test_keys_are_stored_once_and_only_in_their_shape(server: Server) -> None:
    async with Harness(server) as h:
        staff, youth, conv = await _connected_pair(h)
        await youth.expect("keys_stored")
        await staff.wait_keys(conv)
        wrap = b64.encode(os.urandom(113))
        await youth.send({"type": "keys", "conv": conv, "seg": 0, "wrap_c": wrap, "wrap_o": None})
        await expect_error(youth, "keys_exist")
        for bad in (
            {"type": "keys", "conv": conv, "seg": 0, "wrap_c": wrap[:-2], "wrap_o": None},
            {"type": "keys", "conv": conv, "seg": -1, "wrap_c": wrap, "wrap_o": None},
            {"type": "keys", "conv": conv, "seg": 0, "wrap_o": None},
        ):
            await youth.send(bad)
            await expect_error(youth, "bad_keys")
        await youth.send({"type": "keys", "conv": conv, "seg": 7, "wrap_c": wrap, "wrap_o": None})
        await expect_error(youth, "bad_keys")
        other = b64.encode(os.urandom(16))
        await youth.send({"type": "keys", "conv": other, "seg": 0, "wrap_c": wrap, "wrap_o": None})
        await expect_error(youth, "not_in_conversation")
        # The chat goes on with the real key.
        await youth.expect("accepted")
        assert youth.accepted == {0}


async def test_a_forged_acceptance_is_refused_by_the_young_person(server: Server) -> None:
    async with Harness(server) as h:
        staff, youth, conv = await _connected_pair(h, auto_accept=False)
        key = await staff.wait_keys(conv)
        forged = certs.sign_acceptance(
            DeviceKeys.generate().sig_key, b64.decode(conv), 0, key
        )  # a key the service never certified
        await staff.send({"type": "accept", "conv": conv, "seg": 0, "sig": b64.encode(forged)})
        await staff.expect("accept_stored")
        with pytest.raises(certs.VerificationError):
            await youth.expect("accepted")
        assert youth.accepted == set()


async def test_an_accept_from_another_device_is_refused(server: Server) -> None:
    async with Harness(server) as h:
        account = await new_staff(server, languages=[language := unique_language()])
        staff, _ = await h.console(account, auto_accept=False)
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv = (await youth.wait_paired())["conv"]
        key = await staff.wait_keys(conv)
        second, _ = await h.console(account)  # the same counsellor on a new device
        sig = b64.encode(certs.sign_acceptance(second.device.sig_key, b64.decode(conv), 0, key))  # type: ignore[union-attr]
        await second.send({"type": "accept", "conv": conv, "seg": 0, "sig": sig})
        await expect_error(second, "wrong_device")
        # Its own client saw at once that the segment was sealed to the first device.
        assert second.key_errors == [(conv, 0, "sealed to another device")]


async def test_a_key_the_service_did_not_certify_is_never_sealed_to(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        staff, _ = await h.console(await new_staff(server, languages=[language]))
        await staff.duty(True)
        impostor_pin = YouthClient(server.base_url, service_key=_other_service_key())
        h.clients.append(impostor_pin)
        await impostor_pin.connect()
        await impostor_pin.join(language=language)
        with pytest.raises(certs.VerificationError):
            await impostor_pin.wait_paired()
        assert impostor_pin.keys == {}
        with pytest.raises(TimeoutError):
            await staff.expect("keys", timeout=1.0)


def _other_service_key() -> bytes:
    from app.crypto import sign

    return sign.public_key_bytes(sign.generate_private_key())


async def test_an_undecryptable_envelope_is_reported_to_its_sender(server: Server) -> None:
    async with Harness(server) as h:
        staff, youth, conv = await _connected_pair(h)
        await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        broken = youth.sender.test_envelope()  # random bytes: no key opens them
        await youth.send_envelope(broken)
        await staff.expect("envelope")
        report = {"conv": conv, "seg": 0, "role": "Y", "inst": broken.inst, "seq": broken.seq}
        await staff.send({"type": "undecryptable", **report})
        got = await youth.expect("undecryptable")
        assert got == {"type": "undecryptable", **report}
        await staff.send({"type": "undecryptable", **report, "seq": 0})
        await expect_error(staff, "bad_frame")


# ---------------------------------------------------------------------- return codes


async def test_a_return_code_opens_the_history_and_nothing_else(server: Server) -> None:
    async with Harness(server) as h:
        staff, youth, conv = await _connected_pair(h)
        await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "första"))
        await youth.expect("ack")
        key = await staff.wait_keys(conv)
        await staff.send_envelope(staff.senders[conv].text_envelope(key, "svar"))
        await staff.expect("ack")

        code = returncode.new_code()
        salt, nonce = os.urandom(16), os.urandom(12)
        kek = returncode.kek(code, salt)
        wrap = returncode.wrap_with_code(kek, nonce, youth.key, b64.decode(conv), 0)
        locator = b64.encode(returncode.locator(code))
        frame = {
            "type": "return_code",
            "conv": conv,
            "seg": 0,
            "locator": locator,
            "salt": b64.encode(salt),
            "nonce": b64.encode(nonce),
            "wrap": b64.encode(wrap),
        }
        await youth.send(frame)
        await youth.expect("return_code_stored")
        await youth.send(frame)
        await expect_error(youth, "keys_exist")
        await youth.send({**frame, "locator": b64.encode(os.urandom(16))})
        await expect_error(youth, "bad_keys")

        status, body = await call(server, "POST", "/api/youth/return", {"locator": locator})
        assert status == 200, body
        (history,) = body["conversations"]
        assert history["conv"] == conv
        (segment,) = history["segments"]
        opened = returncode.unwrap_with_code(
            returncode.kek(code, b64.decode(segment["salt"])),
            b64.decode(segment["nonce"]),
            b64.decode(segment["wrap"]),
            b64.decode(conv),
            0,
        )
        assert opened == youth.key
        certs.verify_acceptance(
            b64.decode(segment["sig_public_key"]),
            b64.decode(conv),
            0,
            opened,
            b64.decode(segment["accept_sig"]),
            segment["accept_at"],
        )
        from app.chat.envelope import parse_envelope

        texts = [open_text(opened, parse_envelope(e)) for e in history["envelopes"]]
        assert texts == ["första", "svar"]

        unknown = b64.encode(returncode.locator(returncode.new_code()))
        status, body = await call(server, "POST", "/api/youth/return", {"locator": unknown})
        assert status == 404
        assert body["error"]["code"] == "not_found"
        status, body = await call(server, "POST", "/api/youth/return", {"locator": "x"})
        assert status == 422


stale_server = shared_server(("sqlite",), VH_DEVICE_FRESH_LOGIN_SECONDS="0")


async def test_a_device_needs_a_fresh_login(stale_server: Server) -> None:
    """R-25: a device is certified only soon after a password + TOTP login."""
    creds = await staff_login(stale_server, await new_staff(stale_server))
    keys = DeviceKeys.generate()
    body = {
        "hpke_public_key": keys.hpke_public_key,
        "sig_public_key": keys.sig_public_key,
        "fresh_login": creds.fresh_login,
    }
    await asyncio.sleep(1.1)  # the proof is good for 0 s here
    status, error = await call(stale_server, "POST", "/staff/api/devices", body, creds)
    assert status == 403
    assert error["error"]["code"] == "login_not_fresh"


async def test_the_fresh_login_proof_is_the_servers_for_this_session_only(server: Server) -> None:
    """SECURITY R-25 (issue 13 (1)): registering a device asks for the proof the login
    answered, signed by this server for this staff member's this session; none, a made-up one,
    another session's or another account's is refused with 403 ``login_not_fresh``."""
    account = await new_staff(server)
    creds = await staff_login(server, account)
    second = await staff_login(server, account)
    other = await staff_login(server, await new_staff(server))
    assert creds.fresh_login is not None
    assert second.fresh_login is not None
    assert other.fresh_login is not None
    issued = creds.fresh_login.split(".")[1]
    keys = DeviceKeys.generate()
    body = {"hpke_public_key": keys.hpke_public_key, "sig_public_key": keys.sig_public_key}
    for proof in (
        None,
        "",
        f"v1.{issued}.{'A' * 43}",
        f"v1.{int(issued) + 1}.{creds.fresh_login.split('.')[2]}",
        second.fresh_login,
        other.fresh_login,
    ):
        status, error = await call(
            server, "POST", "/staff/api/devices", {**body, "fresh_login": proof}, creds
        )
        assert status == 403, proof
        assert error["error"]["code"] == "login_not_fresh"


async def test_a_returning_young_person_shares_history_only_by_consent(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        account = await new_staff(server, languages=[language])
        staff, _ = await h.console(account)
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv = (await youth.wait_paired())["conv"]
        await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "last time"))
        await youth.expect("ack")
        code = returncode.new_code()
        salt, nonce = os.urandom(16), os.urandom(12)
        wrap = returncode.wrap_with_code(
            returncode.kek(code, salt), nonce, youth.key, b64.decode(conv), 0
        )
        await youth.send(
            {
                "type": "return_code",
                "conv": conv,
                "seg": 0,
                "locator": b64.encode(returncode.locator(code)),
                "salt": b64.encode(salt),
                "nonce": b64.encode(nonce),
                "wrap": b64.encode(wrap),
            }
        )
        await youth.expect("return_code_stored")
        await youth.send({"type": "close"})
        await youth.expect("closed")

        # A return visit: the history opens with the code alone, in the client.
        back = await h.youth(e2e=True)
        (earlier,) = await back.fetch_history(code)
        assert earlier.conv == conv
        assert earlier.messages == [("Y", "last time")]

        # A new chat: the counsellor sees nothing of it until the young person agrees.
        await back.join(language=language)
        new_conv = (await back.wait_paired())["conv"]
        await asyncio.gather(staff.wait_keys(new_conv), back.wait_connected())
        assert new_conv not in staff.history
        wrong = returncode.new_code()
        await back.send(
            {
                "type": "share_history",
                "conv": new_conv,
                "locator": b64.encode(returncode.locator(wrong)),
                "segments": [{"conv": conv, "seg": 0, "wrap": b64.encode(os.urandom(113))}],
            }
        )
        await expect_error(back, "bad_keys")
        await back.share_history(code, [earlier])
        frame = await staff.expect("history")
        assert frame["from"] == conv
        assert staff.history[new_conv] == [("Y", "last time")]

        # A console of the same device that connects later gets it again.
        again = CounsellorClient(server.base_url, device=staff.device)
        h.clients.append(again)
        await again.connect(await staff_login(server, account))
        await again.expect("history")
        assert again.history[new_conv] == [("Y", "last time")]


async def test_a_share_sealed_for_an_earlier_segment_is_refused(server: Server) -> None:
    async with Harness(server) as h:
        staff, youth, conv = await _connected_pair(h)
        await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        stale = {
            "type": "share_history",
            "conv": conv,
            "seg": 1,  # not the current segment
            "locator": b64.encode(os.urandom(16)),
            "segments": [
                {"conv": b64.encode(os.urandom(16)), "seg": 0, "wrap": b64.encode(os.urandom(113))}
            ],
        }
        await youth.send(stale)
        await expect_error(youth, "wrong_state")
        await youth.send({**stale, "seg": 0})
        await expect_error(youth, "bad_keys")


async def test_a_new_device_needs_the_accounts_enrolment_code(server: Server) -> None:
    """SECURITY R-25 (issue 13 (1)): a fresh login is not enough for a new device; it also
    needs the account's pending code of ``vhouse staff enrol``, which is single-use, replaced by
    a newer one, and not another account's."""
    account = await new_staff(server)
    creds = await staff_login(server, account)
    keys = DeviceKeys.generate()
    body = {
        "hpke_public_key": keys.hpke_public_key,
        "sig_public_key": keys.sig_public_key,
        "fresh_login": creds.fresh_login,
    }

    async def register(code: str | None) -> tuple[int, Any]:
        return await call(server, "POST", "/staff/api/devices", {**body, "enrol_code": code}, creds)

    status, error = await register(None)
    assert (status, error["error"]["code"]) == (403, "enrol_code_required")
    other = await new_staff(server)
    for wrong in ("ABCDE-FGHJK", "not a code", await _enrol_code(server.database, other.staff_id)):
        status, error = await register(wrong)
        assert (status, error["error"]["code"]) == (403, "enrol_code_wrong"), wrong
    replaced = await _enrol_code(server.database, account.staff_id)
    code = await _enrol_code(server.database, account.staff_id)
    status, error = await register(replaced)
    assert (status, error["error"]["code"]) == (403, "enrol_code_wrong")
    status, info = await register(f" {code.lower()} ")  # as typed: spaces and case do not matter
    assert status == 201, info
    status, error = await register(code)  # used up
    assert (status, error["error"]["code"]) == (403, "enrol_code_wrong")


async def test_an_open_console_hears_of_a_new_device_of_its_account(server: Server) -> None:
    """Issue 13 (1): every open console of the account is told ``device_added`` when a device
    is certified for it, so one registered elsewhere (stolen password and code) shows at once."""
    async with Harness(server) as h:
        account = await new_staff(server)
        first, _ = await h.console(account)
        other = await new_staff(server)
        bystander, _ = await h.console(other)
        second, _ = await h.console(account)  # another device of the same account
        assert second.device is not None
        frame = await first.expect("device_added")
        assert frame == {"type": "device_added", "device_id": second.device.device_id}
        await bystander.send({"type": "watch_queue"})
        while (seen := await bystander.recv())["type"] != "queue":
            assert seen["type"] != "device_added"  # another account's consoles hear nothing


short_server = shared_server(("sqlite",), VH_DEVICE_DAYS="1")


async def test_a_short_lived_certificate_is_renewed_after_a_fresh_login(
    short_server: Server,
) -> None:
    """Issue 13 (1): certificates are short-lived (``VH_DEVICE_DAYS``, here 1); a console that
    logs in with one ending soon renews it (same device, same keys, a new ``not_after``), which
    needs this session's fresh-login proof; another account's device, or no proof, is refused."""
    async with Harness(short_server) as h:
        account = await new_staff(short_server)
        first, _ = await h.console(account)
        assert first.device is not None
        old = (first.device.not_after, first.device.certificate)
        await asyncio.sleep(1.1)  # a later second: a later not_after
        again, hello = await h.console(account, device=first.device)
        assert hello["device"] == first.device.device_id
        assert again.device is not None
        assert again.device.not_after > old[0]
        assert again.device.certificate != old[1]
        certs.DeviceCert.from_dict(
            {
                "device_id": again.device.device_id,
                "staff_id": account.staff_id,
                "hpke_public_key": again.device.hpke_public_key,
                "sig_public_key": again.device.sig_public_key,
                "not_after": again.device.not_after,
                "certificate": again.device.certificate,
            }
        ).verify(short_server.service_key, int(time.time()))

        path = f"/staff/api/devices/{first.device.device_id}/renew"
        creds = await staff_login(short_server, account)
        status, error = await call(short_server, "POST", path, {"fresh_login": "v1.1.x"}, creds)
        assert (status, error["error"]["code"]) == (403, "login_not_fresh")
        intruder = await staff_login(short_server, await new_staff(short_server))
        body = {"fresh_login": intruder.fresh_login}
        status, error = await call(short_server, "POST", path, body, intruder)
        assert (status, error["error"]["code"]) == (404, "not_found")
        status, renewed = await call(
            short_server, "POST", path, {"fresh_login": creds.fresh_login}, creds
        )
        assert status == 200, renewed
        assert renewed["device_id"] == first.device.device_id
