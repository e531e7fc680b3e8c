"""Key files: owner-only, never overwritten, passphrase-encrypted, zero-filled on destruction."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.crypto import hpke, sign
from app.keys import files

PASSPHRASE = "a long custody passphrase"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_service_key_is_a_0600_pkcs8_pem_and_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "service-key.pem"
    old_umask = os.umask(0)
    try:
        key = files.create_service_key(path)
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(data, password=None)
    assert sign.public_key_bytes(loaded) == sign.public_key_bytes(key)  # type: ignore[arg-type]
    assert sign.public_key_bytes(files.load_service_key(path)) == sign.public_key_bytes(key)
    with pytest.raises(files.KeyFileError, match="already exists"):
        files.create_service_key(path)
    assert path.read_bytes() == data
    assert files.ensure_service_key(path).private_numbers() == key.private_numbers()


def test_a_service_key_readable_by_others_or_missing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "service-key.pem"
    with pytest.raises(files.KeyFileError, match="vhouse keys init"):
        files.load_service_key(path)
    files.create_service_key(path)
    path.chmod(0o644)
    with pytest.raises(files.KeyFileError, match="chmod 600"):
        files.load_service_key(path)


def test_period_key_opens_only_with_its_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "period.pem"
    key = hpke.generate_private_key()
    files.write_period_key(path, key, PASSPHRASE)
    assert _mode(path) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = files.load_period_key(path, PASSPHRASE)
    assert hpke.public_key_bytes(loaded) == hpke.public_key_bytes(key)
    with pytest.raises(files.KeyFileError, match="wrong passphrase"):
        files.load_period_key(path, PASSPHRASE + "!")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(path.read_bytes(), password=None)
    with pytest.raises(files.KeyFileError, match="already exists"):
        files.write_period_key(path, key, PASSPHRASE)


def test_destroy_zero_fills_before_unlinking(tmp_path: Path) -> None:
    path = tmp_path / "period.pem"
    files.write_period_key(path, hpke.generate_private_key(), PASSPHRASE)
    size = path.stat().st_size
    witness = tmp_path / "witness"  # a second name for the same inode shows what was left
    os.link(path, witness)
    files.check_period_key_file(path)
    files.destroy(path)
    assert not path.exists()
    assert witness.read_bytes() == bytes(size)


def test_only_an_encrypted_key_file_passes_the_guard(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a key")
    with pytest.raises(files.KeyFileError, match="not an encrypted PEM"):
        files.check_period_key_file(other)
    with pytest.raises(files.KeyFileError, match="does not exist"):
        files.check_period_key_file(tmp_path / "missing.pem")
    with pytest.raises(files.KeyFileError, match="not a regular file"):
        files.check_period_key_file(tmp_path)
