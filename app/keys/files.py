"""Key files on disk: created owner-only (0600) and never overwritten; destroyed by zero-filling.

The service signing key is unencrypted PKCS#8 PEM (the server must read it unattended); a
period's private key is PKCS#8 PEM encrypted under the custodian's passphrase
(``BestAvailableEncryption``) and is meant to leave the server for offline custody.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.kit import files as private_files

DIR_MODE: Final = 0o700
_ENCRYPTED_PEM: Final = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


class KeyFileError(Exception):
    """A key file that cannot be created, read or destroyed as asked; the message says why."""


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and ``data``, durably; refuse if anything is there."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        private_files.write_private(path, data)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    private_files.fsync_directory(path.parent)


def _p256(key: object, path: Path) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"{path} does not hold a P-256 private key")
    return key


def create_service_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Generate the service signing key (ECDSA P-256) into a new 0600 PKCS#8 PEM file.

    Raises ``KeyFileError`` if the file exists: replacing the service key invalidates every
    certificate and the published fingerprint, so it is never done implicitly.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(path, pem)
    return key


def load_service_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The service signing key from its PEM file.

    Raises ``KeyFileError`` when the file is missing, readable by group or others, or not an
    unencrypted P-256 PKCS#8 key.
    """
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist; create it with 'vhouse keys init'") from None
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(f"{path} is readable by others; chmod 600 it")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not an unencrypted PKCS#8 PEM private key") from None
    return _p256(key, path)


def ensure_service_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Demo only: the service key at ``path``, created first if missing."""
    if path.exists():
        return load_service_key(path)
    return create_service_key(path)


def write_period_key(path: Path, key: ec.EllipticCurvePrivateKey, passphrase: str) -> None:
    """Write a period's private key as encrypted PKCS#8 PEM to a new 0600 file.

    Raises ``KeyFileError`` if the file exists.
    """
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    _write_new(path, pem)


def load_period_key(path: Path, passphrase: str) -> ec.EllipticCurvePrivateKey:
    """A period's private key; ``KeyFileError`` for a wrong passphrase or a foreign file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise KeyFileError(f"{path}: wrong passphrase or not an encrypted private key") from None
    return _p256(key, path)


def check_period_key_file(path: Path) -> None:
    """Raise ``KeyFileError`` unless ``path`` is a regular file holding an encrypted PEM key.

    A guard before destruction: the passphrase is not needed to destroy a key, so this is what
    keeps a mistyped path from zero-filling some other file.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path} is not a regular file")
    with path.open("rb") as handle:
        head = handle.read(len(_ENCRYPTED_PEM) + 64)
    if _ENCRYPTED_PEM not in head:
        raise KeyFileError(f"{path} is not an encrypted PEM private key")


def destroy(path: Path) -> None:
    """Overwrite ``path`` with zeros, fsync, unlink it and fsync its directory.

    On a copy-on-write or journalling file system, or flash storage, old blocks may survive the
    overwrite: custody on removable media that is itself destroyed is the stronger measure.
    """
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY)
    try:
        private_files.write_all(fd, bytes(size))
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    with contextlib.suppress(OSError):
        private_files.fsync_directory(path.parent)
