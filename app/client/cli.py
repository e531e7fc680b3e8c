"""``vhouse client …``: the reference client for scripting; prints every frame as a JSON line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from app.client.envelopes import Sender
from app.client.session import CounsellorClient, YouthClient, login


def add_client_parser(sub: Any) -> None:
    client = sub.add_parser("client", help="reference client (prints frames as JSON lines)")
    client.add_argument("--url", default="http://127.0.0.1:8000", help="the service's base URL")
    client_sub = client.add_subparsers(dest="client_command", required=True)

    youth = client_sub.add_parser("youth", help="join the queue as a young person and wait")
    youth.add_argument("--language", default="sv")
    youth.add_argument("--kind", choices=("youth", "professional"), default="youth")
    youth.add_argument("--danger-now", action="store_true")
    youth.add_argument("--messages", type=int, default=0, help="test envelopes to send once paired")
    youth.set_defaults(func=cmd_youth, demo=True)

    counsellor = client_sub.add_parser("counsellor", help="log in, go on duty, print frames")
    counsellor.add_argument("username")
    counsellor.add_argument("--totp", required=True, help="the current TOTP code")
    counsellor.add_argument("--password-stdin", action="store_true")
    counsellor.add_argument("--seconds", type=float, default=60.0, help="stay this long")
    counsellor.set_defaults(func=cmd_counsellor, demo=True)


def _print(frame: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(frame) + "\n")
    sys.stdout.flush()


async def _youth(args: argparse.Namespace) -> int:
    client = YouthClient(args.url)
    await client.connect()
    _print({"ticket": await client.join(args.language, args.kind, args.danger_now)})
    while True:
        frame = await client.recv(timeout=3600)
        _print(frame)
        if frame["type"] == "paired":
            client.conv = frame["conv"]
            client.sender = Sender(conv=frame["conv"], role="Y")
            for _ in range(args.messages):
                await client.send_envelope(client.sender.test_envelope())
        if frame["type"] in ("closed", "left", "ended"):
            await client.close()
            return 0


def cmd_youth(_settings: Any, args: argparse.Namespace) -> int:
    return asyncio.run(_youth(args))


async def _counsellor(args: argparse.Namespace, password: str) -> int:
    credentials = await asyncio.to_thread(login, args.url, args.username, password, args.totp)
    client = CounsellorClient(args.url)
    _print(await client.connect(credentials))
    _print(await client.duty(True))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.seconds
    while (left := deadline - loop.time()) > 0:
        try:
            _print(await client.recv(timeout=left))
        except TimeoutError:
            break
    await client.close()
    return 0


def cmd_counsellor(_settings: Any, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    return asyncio.run(_counsellor(args, password))
