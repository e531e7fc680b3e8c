"""P-8: browser crypto in Chromium (Playwright): seal + encrypt + decrypt, and the return-code KEK.

    python -m bench.browser_crypto
    python -m bench.browser_crypto --runs 1000 --kek-runs 5

Serves frontend/static from a tiny local HTTP server (cross-origin isolated, so
``performance.now()`` has microsecond resolution), opens a blank page in Debian's headless
Chromium and times the real modules there:

- one message: ``certs.sealSegmentKeyToDevice`` (HPKE seal of K to a device key) +
  ``message.encryptMessage`` + ``message.decryptMessage``, median of ``--runs`` (≥ 200) after
  a warm-up; the parts and the counsellor's HPKE open are reported beside it;
- ``returncode.kek``: PBKDF2-HMAC-SHA256 with 600 000 iterations, median of ``--kek-runs``.

Prints JSON lines and a table against the targets (≤ 2 ms, ≤ 1.5 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "frontend" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = b"<!doctype html><meta charset=utf-8><title>P-8</title>"
TARGETS = {"message_ms": 2.0, "kek_ms": 1500.0}

SCRIPT = """
async ({ runs, kekRuns, warmup }) => {
  const b = await import("/static/js/crypto/bytes.js");
  const hpke = await import("/static/js/crypto/hpke.js");
  const certs = await import("/static/js/crypto/certs.js");
  const m = await import("/static/js/crypto/message.js");
  const rc = await import("/static/js/crypto/returncode.js");
  const device = await hpke.generateKeyPair();
  const devicePub = await hpke.publicKeyBytes(device.publicKey);
  const deviceId = b.randomBytes(16), conv = b.randomBytes(16), inst = b.randomBytes(16);
  const body = { type: "text", body: "Hej, jag behöver prata med någon.", sent_at: Date.now() };
  const samples = { message: [], seal: [], encrypt: [], decrypt: [], open: [], kek: [] };
  for (let i = 0; i < warmup + runs; i++) {
    const K = b.randomBytes(32), seq = i + 1;
    const t0 = performance.now();
    const sealed = await certs.sealSegmentKeyToDevice(devicePub, K, conv, 0, deviceId);
    const t1 = performance.now();
    const ct = await m.encryptMessage(K, conv, 0, "Y", inst, seq, body);
    const t2 = performance.now();
    const back = await m.decryptMessage(K, conv, 0, "Y", inst, seq, ct);
    const t3 = performance.now();
    await certs.openSegmentKeyAsDevice(device, sealed, conv, 0, deviceId);
    const t4 = performance.now();
    if (back.body !== body.body) throw new Error("round trip failed");
    if (i < warmup) continue;
    samples.message.push(t3 - t0);
    samples.seal.push(t1 - t0);
    samples.encrypt.push(t2 - t1);
    samples.decrypt.push(t3 - t2);
    samples.open.push(t4 - t3);
  }
  const salt = b.randomBytes(16), code = rc.newCode();
  for (let i = 0; i < kekRuns; i++) {
    const t0 = performance.now();
    await rc.kek(code, salt, rc.ITERATIONS);
    samples.kek.push(performance.now() - t0);
  }
  return { samples, isolated: self.crossOriginIsolated, userAgent: navigator.userAgent };
}
"""


class _Handler(SimpleHTTPRequestHandler):
    """frontend/static under /static/, a blank page at /; cross-origin isolated."""

    def translate_path(self, path: str) -> str:
        if path.startswith("/static/"):
            return super().translate_path(path[len("/static") :])
        return str(STATIC / "__none__")

    def do_GET(self) -> None:
        if self.path in ("/", "/bench.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def guess_type(self, path: Any) -> str:
        return "text/javascript" if str(path).endswith(".js") else super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(STATIC)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 4),
        "min_ms": round(ordered[0], 4),
        "n": len(ordered),
    }


def run(runs: int, kek_runs: int, warmup: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    server, base_url = _serve()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page()
                page.set_default_timeout(600_000)
                page.goto(base_url + "/")
                out = page.evaluate(SCRIPT, {"runs": runs, "kekRuns": kek_runs, "warmup": warmup})
                version = browser.version
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    rows = []
    for name, values in out["samples"].items():
        row: dict[str, Any] = {"bench": "P-8", "metric": name, **_stats(values)}
        target = TARGETS.get(f"{name}_ms")
        if target is not None:
            row["target_ms"] = target
            row["ok"] = row["median_ms"] <= target
        row["chromium"] = version
        row["timer_isolated"] = out["isolated"]
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=500, help="timed messages (>= 200)")
    parser.add_argument("--kek-runs", type=int, default=5, help="timed KEK derivations")
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args(argv)
    if args.runs < 200 or args.kek_runs < 5:
        parser.error("P-8 needs --runs >= 200 and --kek-runs >= 5")
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} missing: apt-get install chromium")
    rows = run(args.runs, args.kek_runs, args.warmup)
    for row in rows:
        print(json.dumps(row), flush=True)
    labels = {
        "message": "seal + encrypt + decrypt",
        "seal": "  HPKE seal of K",
        "encrypt": "  encrypt message",
        "decrypt": "  decrypt message",
        "open": "HPKE open of K (counsellor)",
        "kek": "return-code KEK (PBKDF2 600k)",
    }
    lines = ["", f"{'P-8 (Chromium)':32} {'median ms':>10} {'p90 ms':>10} {'n':>5}  target"]
    for row in rows:
        target = ""
        if "target_ms" in row:
            target = f"<= {row['target_ms']:g} ms {'ok' if row['ok'] else 'MISSED'}"
        lines.append(
            f"{labels[row['metric']]:32} {row['median_ms']:>10.3f} {row['p90_ms']:>10.3f} "
            f"{row['n']:>5}  {target}"
        )
    print("\n".join(lines))
    return 0 if all(row.get("ok", True) for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
