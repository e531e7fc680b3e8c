"""A counsellor device for the Python client: two key pairs in a 0600 key file, and registration.

The browser keeps the same keys as non-extractable CryptoKeys in IndexedDB (staff/device.js).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.client.api import post_json
from app.crypto import _p256, certs, hpke, sign
from app.kit import b64
from app.kit import files as private_files


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return b64.encode(der)


@dataclass
class DeviceKeys:
    hpke_key: ec.EllipticCurvePrivateKey
    sig_key: ec.EllipticCurvePrivateKey
    #: Set once the service has certified the device.
    device_id: str | None = None
    staff_id: str | None = None
    not_after: int = 0
    certificate: str | None = None

    @classmethod
    def generate(cls) -> DeviceKeys:
        return cls(hpke.generate_private_key(), sign.generate_private_key())

    @property
    def hpke_public_key(self) -> str:
        return b64.encode(_p256.public_bytes(self.hpke_key))

    @property
    def sig_public_key(self) -> str:
        return b64.encode(_p256.public_bytes(self.sig_key))

    def save(self, path: Path) -> None:
        """Write the key file (0600, never overwritten in place: replaced atomically)."""
        data = {
            "hpke_key": _pkcs8(self.hpke_key),
            "sig_key": _pkcs8(self.sig_key),
            "device_id": self.device_id,
            "staff_id": self.staff_id,
            "not_after": self.not_after,
            "certificate": self.certificate,
        }
        tmp = path.with_name(path.name + ".tmp")
        private_files.write_private(tmp, json.dumps(data).encode("utf-8"))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> DeviceKeys:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return cls(
            hpke_key=_p256.load_pkcs8(b64.decode(data["hpke_key"])),
            sig_key=_p256.load_pkcs8(b64.decode(data["sig_key"])),
            device_id=data.get("device_id"),
            staff_id=data.get("staff_id"),
            not_after=int(data.get("not_after") or 0),
            certificate=data.get("certificate"),
        )

    def certified(self, info: dict[str, Any]) -> None:
        """Take the service's answer to a registration."""
        cert = certs.DeviceCert.from_dict(info)
        self.device_id, self.staff_id = cert.device_id, cert.staff_id
        self.not_after, self.certificate = cert.not_after, cert.certificate

    def open_segment_key(self, conv: str, seg: int, wrap: str) -> bytes:
        """Unseal ``K`` sealed to this device; raises ``ValueError`` subclasses when it fails."""
        if self.device_id is None:
            raise ValueError("the device is not registered")
        return certs.open_segment_key_as_device(
            self.hpke_key, b64.decode(wrap), b64.decode(conv), seg, b64.decode(self.device_id)
        )

    def accept(self, conv: str, seg: int, key: bytes, signed_at: int | None = None) -> str:
        """The acceptance signature of segment ``seg`` under ``K`` (CRYPTO.md §3), base64url;
        the timed form (PROTOCOL.md §6.3) when ``signed_at`` is given."""
        raw = certs.sign_acceptance(self.sig_key, b64.decode(conv), seg, key, signed_at=signed_at)
        return b64.encode(raw)


def register(
    base_url: str,
    cookie: str,
    csrf_token: str,
    keys: DeviceKeys,
    *,
    fresh_login: str | None,
    enrol_code: str | None,
) -> None:
    """Register ``keys`` with the service (blocking; soon after login) and record the answer.

    ``cookie`` is ``name=value`` of the staff session, ``fresh_login`` the proof its login
    answered, ``enrol_code`` the account's code from ``vhouse staff enrol``. Raises
    ``urllib.error.HTTPError`` as the server answers (403 ``login_not_fresh``: log in again;
    403 ``enrol_code_required`` / ``enrol_code_wrong``: ask for a code).
    """
    body = {
        "hpke_public_key": keys.hpke_public_key,
        "sig_public_key": keys.sig_public_key,
        "fresh_login": fresh_login,
        "enrol_code": enrol_code,
    }
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf_token}
    keys.certified(post_json(base_url, "/staff/api/devices", body, headers))


#: A certificate with less than this left is renewed at a fresh login (seconds).
RENEW_WITHIN = 4 * 86400


def renew(
    base_url: str, cookie: str, csrf_token: str, keys: DeviceKeys, *, fresh_login: str | None
) -> None:
    """A new certificate for the registered ``keys`` (blocking; soon after login), recorded.
    Raises ``urllib.error.HTTPError`` as the server answers (404: register the device again)."""
    path = f"/staff/api/devices/{keys.device_id}/renew"
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf_token}
    keys.certified(post_json(base_url, path, {"fresh_login": fresh_login or "-"}, headers))
