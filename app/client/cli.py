"""``vhouse client …``: the reference client for scripting; prints every frame as a JSON line.

With ``--service-key`` (the service public key, base64url, whose fingerprint the operator
publishes) the young person's client does the real key exchange of CRYPTO.md §3 and prints the
messages it decrypts as ``{"text": …, "role": …}`` lines; without it, it only relays random
test envelopes. The counsellor's client always registers (or reuses, ``--device-file``) a device.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import urllib.error
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from app.client import CounsellorClient, YouthClient, login
from app.client.envelopes import Sender, open_text
from app.crypto import MessageError
from app.kit import b64
from app.kit.cliout import fail

#: Close codes a client is told in words when the service ends its socket unasked.
CLOSE_REASONS = {
    1008: "the service ended the session (logged out, rate limited, or not allowed)",
    1011: "the service had an internal error",
    1012: "the service is restarting: try again shortly",
    1013: "the service asks to try again later",
    4001: "the chat was opened on another connection",
}


def add_client_parser(sub: Any) -> None:
    client = sub.add_parser("client", help="reference client (prints frames as JSON lines)")
    client.add_argument("--url", default="http://127.0.0.1:8000", help="the service's base URL")
    client_sub = client.add_subparsers(dest="client_command", required=True)

    youth = client_sub.add_parser("youth", help="join the queue as a young person and wait")
    youth.add_argument("--language", default="sv")
    youth.add_argument("--kind", choices=("youth", "professional"), default="youth")
    youth.add_argument("--danger-now", action="store_true")
    youth.add_argument(
        "--service-key", help="the pinned service public key (base64url): chat end-to-end"
    )
    youth.add_argument(
        "--say", action="append", default=[], help="a message to send once connected (repeat)"
    )
    youth.add_argument("--messages", type=int, default=0, help="test envelopes to send once paired")
    youth.set_defaults(func=cmd_youth, demo=True)

    counsellor = client_sub.add_parser("counsellor", help="log in, go on duty, print frames")
    counsellor.add_argument("username")
    counsellor.add_argument("--totp", required=True, help="the current TOTP code")
    counsellor.add_argument("--password-stdin", action="store_true")
    counsellor.add_argument(
        "--device-file", type=Path, help="keep the device keys in this 0600 file and reuse them"
    )
    counsellor.add_argument(
        "--enrol-code", help="the code of `vhouse staff enrol`, when a new device is registered"
    )
    counsellor.add_argument("--seconds", type=float, default=60.0, help="stay this long")
    counsellor.set_defaults(func=cmd_counsellor, demo=True)


class Refused(Exception):
    """The service turned the client away; the message is the service's own words."""


def _print(frame: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(frame) + "\n")
    sys.stdout.flush()


def _service_key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = b64.decode(text)
    except ValueError:
        raise Refused("--service-key must be base64url") from None
    if len(key) != 65:
        raise Refused("--service-key must be a 65-byte P-256 point")
    return key


async def _join(client: YouthClient, args: argparse.Namespace) -> str:
    """Join; ``Refused`` with the server's message when it turns the join away."""
    triage = {"language": args.language, "kind": args.kind, "danger_now": args.danger_now}
    await client.send({"type": "join", "triage": triage})
    while True:
        frame = await client.recv()
        if frame["type"] == "ticket":
            client.ticket = str(frame["ticket"])
            return client.ticket
        if frame["type"] == "error":
            retry = frame.get("retry_after")
            later = f" (try again in {retry} s)" if isinstance(retry, int) else ""
            raise Refused(f"join refused, {frame['code']}: {frame['message']}{later}")
        client.inbox.append(frame)


async def _youth(args: argparse.Namespace) -> int:
    client = YouthClient(args.url, service_key=_service_key(args.service_key))
    await client.connect()
    _print({"ticket": await _join(client, args)})
    said = False
    while True:
        frame = await client.recv(timeout=3600)
        _print(frame)
        kind = frame["type"]
        if kind == "paired":
            client.conv = frame["conv"]
            if client.sender is None:
                client.sender = Sender(conv=frame["conv"], role="Y", seg=frame.get("seg", 0))
            for _ in range(args.messages):
                await client.send_envelope(client.sender.test_envelope())
        elif kind == "envelope" and client.sender is not None and client.keys:
            envelope = client.envelopes[-1]
            try:
                text = open_text(client.keys[envelope.seg], envelope)
            except (MessageError, KeyError):
                text = None
            _print({"role": envelope.role, "text": text})
        if client.sender is not None and client.sender.seg in client.accepted and not said:
            said = True
            for text in args.say:
                await client.send_envelope(client.sender.text_envelope(client.key, text))
        if kind in ("closed", "left", "ended"):
            await client.close()
            return 0


def cmd_youth(_settings: Any, args: argparse.Namespace) -> int:
    return _run(args.url, _youth(args))


async def _counsellor(args: argparse.Namespace, password: str) -> int:
    try:
        credentials = await asyncio.to_thread(login, args.url, args.username, password, args.totp)
    except urllib.error.HTTPError as exc:
        raise Refused(_login_refusal(args.url, exc)) from None
    client = CounsellorClient(args.url, device_file=args.device_file, enrol_code=args.enrol_code)
    _print(await client.connect(credentials))
    _print(await client.duty(True))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.seconds
    while (left := deadline - loop.time()) > 0:
        try:
            frame = await client.recv(timeout=left)
        except TimeoutError:
            break
        _print(frame)
        if frame["type"] == "envelope":
            envelope = client.envelopes[-1]
            key = client.keys.get((envelope.conv, envelope.seg))
            try:
                text = None if key is None else open_text(key, envelope)
            except MessageError:
                text = None
            _print({"conv": envelope.conv, "role": envelope.role, "text": text})
    await client.close()
    return 0


def cmd_counsellor(_settings: Any, args: argparse.Namespace) -> int:
    if problem := _bad_url(args.url):
        return fail(problem)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    return _run(args.url, _counsellor(args, password))


# ---------------------------------------------------------------------- errors, in one line


def _bad_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return f"--url must be the service's base URL, http(s)://host[:port], not {url!r}"
    return None


def _run(url: str, work: Coroutine[Any, Any, int]) -> int:
    """Run a client; whatever stops it early is said in one line (exit 2), not a traceback."""
    if problem := _bad_url(url):
        work.close()
        return fail(problem)
    try:
        return asyncio.run(work)
    except Refused as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else None
        why = CLOSE_REASONS.get(code or 0, f"close code {code}" if code else "no close frame")
        return fail(f"the service at {url} closed the connection: {why}")
    except urllib.error.HTTPError as exc:
        message = _message(exc)
        if message is None:
            return fail(_not_ours(url, exc))
        return fail(f"{url} refused: {message} (HTTP {exc.code})")
    except urllib.error.URLError as exc:
        return fail(f"cannot reach {url}: {_os_reason(exc.reason)}")
    except InvalidStatus as exc:
        status = exc.response.status_code
        return fail(
            f"{url} refused the socket (HTTP {status}): is it a Virtual House service, and is "
            "--url its public address (the origin it allows)?"
        )
    except WebSocketException as exc:
        return fail(f"{url} did not answer as a Virtual House service ({exc})")
    except TimeoutError:
        return fail(f"no answer from {url} in time")
    except json.JSONDecodeError:
        return fail(f"{url} did not answer as a Virtual House service (not JSON)")
    except OSError as exc:
        return fail(f"cannot reach {url}: {_os_reason(exc)}")


def _message(exc: urllib.error.HTTPError) -> str | None:
    """The service's ``error.message`` of a refusal; None when the body is not one."""
    try:
        body = json.loads(exc.read() or b"{}")
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return None
    finally:
        exc.close()


def _not_ours(url: str, exc: urllib.error.HTTPError) -> str:
    return f"{url} answered HTTP {exc.code} ({exc.reason}): is it a Virtual House service?"


def _login_refusal(url: str, exc: urllib.error.HTTPError) -> str:
    message = _message(exc)
    if message is None:
        return _not_ours(url, exc)
    retry = exc.headers.get("Retry-After") if exc.code == 429 else None
    return f"login refused: {message}" + (f" (try again in {retry} s)" if retry else "")


def _os_reason(exc: BaseException | str) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
