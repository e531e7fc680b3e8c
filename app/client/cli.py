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
import sys
from pathlib import Path
from typing import Any

from app.client import CounsellorClient, YouthClient, login
from app.client.envelopes import Sender, open_text
from app.crypto import MessageError
from app.kit import b64


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
    counsellor.add_argument("--seconds", type=float, default=60.0, help="stay this long")
    counsellor.set_defaults(func=cmd_counsellor, demo=True)


def _print(frame: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(frame) + "\n")
    sys.stdout.flush()


def _service_key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = b64.decode(text)
    except ValueError:
        raise SystemExit("vhouse: --service-key must be base64url") from None
    if len(key) != 65:
        raise SystemExit("vhouse: --service-key must be a 65-byte P-256 point")
    return key


async def _youth(args: argparse.Namespace) -> int:
    client = YouthClient(args.url, service_key=_service_key(args.service_key))
    await client.connect()
    _print({"ticket": await client.join(args.language, args.kind, args.danger_now)})
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
    return asyncio.run(_youth(args))


async def _counsellor(args: argparse.Namespace, password: str) -> int:
    credentials = await asyncio.to_thread(login, args.url, args.username, password, args.totp)
    client = CounsellorClient(args.url, device_file=args.device_file)
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
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    return asyncio.run(_counsellor(args, password))
