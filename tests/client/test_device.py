"""The reference client's device: a 0600 key file replaced atomically, and the certificate."""

from __future__ import annotations

import stat
from pathlib import Path

from app.client import CounsellorClient, Credentials, YouthClient, login
from app.client.device import DeviceKeys
from app.crypto import certs


def test_the_key_file_is_0600_and_reads_back(tmp_path: Path) -> None:
    keys = DeviceKeys.generate()
    path = tmp_path / "device.json"
    keys.save(path)
    keys.save(path)  # replaced, never written over in place
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device.json"]
    loaded = DeviceKeys.load(path)
    assert (loaded.hpke_public_key, loaded.sig_public_key) == (
        keys.hpke_public_key,
        keys.sig_public_key,
    )


def test_the_service_answer_is_read_as_a_device_cert() -> None:
    keys = DeviceKeys.generate()
    cert = certs.DeviceCert("d" * 22, "s" * 22, keys.hpke_public_key, keys.sig_public_key, 7, "c")
    keys.certified(cert.as_dict())
    assert (keys.device_id, keys.staff_id, keys.not_after, keys.certificate) == (
        cert.device_id,
        cert.staff_id,
        7,
        "c",
    )


def test_the_package_exports_the_clients() -> None:
    assert all(callable(x) for x in (CounsellorClient, Credentials, YouthClient, login))
