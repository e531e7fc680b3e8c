"""``python -m app.probe [PORT]``: the container's health check, exit 0 when ``GET /readyz`` on
this machine's loopback answers 200 (database and broker reachable), 1 otherwise.

It speaks https when ``VH_TLS_CERT_FILE`` is set (the server terminates TLS itself). The probe
goes to 127.0.0.1, not to the certificate's name, and reads only the status, so it checks the
chain against the certificate file itself and the system's CAs but not the host name.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request

DEFAULT_PORT = 8000
#: Ready means the database and the broker answer (app/health.py).
READY_PATH = "/readyz"


def probe(port: int, cert_file: str | None, timeout: float = 2.0) -> bool:
    scheme = "https" if cert_file else "http"
    context = None
    if cert_file:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=cert_file)
        context.check_hostname = False
    try:
        with urllib.request.urlopen(  # noqa: S310 - a fixed loopback address
            f"{scheme}://127.0.0.1:{port}{READY_PATH}", timeout=timeout, context=context
        ) as answer:
            return int(answer.status) == 200
    except OSError:
        return False


def main(argv: list[str]) -> int:
    port = int(argv[0]) if argv else DEFAULT_PORT
    return 0 if probe(port, os.environ.get("VH_TLS_CERT_FILE") or None) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
