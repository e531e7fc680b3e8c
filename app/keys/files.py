"""Key files on disk: created owner-only (0600) and never overwritten; destroyed by zero-filling.

The service signing key is unencrypted PKCS#8 PEM (the server must read it unattended); a
period's private key is PKCS#8 PEM encrypted under the custodian's passphrase (PBES2,
PBKDF2-HMAC-SHA256 with ``PERIOD_KEY_KDF_ITERATIONS``, AES-256-CBC: ``app/keys/pkcs8.py``) and
is kept offline by its custodian, best made on the custodian's own machine
(``vhouse keys make-period-key``), whose public half is a small JSON file for the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Final, NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.keys import engine, pkcs8
from app.kit import b64
from app.kit import files as private_files

DIR_MODE: Final = 0o700
_ENCRYPTED_PEM: Final = pkcs8.PEM_BEGIN
#: PBKDF2-HMAC-SHA256 iterations of a new period key file. OWASP asks for 600,000; opening a file
#: with this many takes 0.10 s on the project's 2-core CI machine (docs/PERFORMANCE.md).
PERIOD_KEY_KDF_ITERATIONS: Final = 1_000_000
#: Below this (or under any other scheme) ``period_key_kdf`` calls a file weak.
PERIOD_KEY_MIN_KDF_ITERATIONS: Final = 600_000
#: The one scheme new period key files are written with.
PERIOD_KEY_KDF: Final = "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"
#: ``kind`` of the public-half file ``make-period-key`` writes beside the private one.
PERIOD_PUBLIC_KIND: Final = "vhouse-period-public-key"
_PUBLIC_FILE_MAX_BYTES: Final = 4096


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


def write_period_key(
    path: Path,
    key: ec.EllipticCurvePrivateKey,
    passphrase: str,
    *,
    iterations: int = PERIOD_KEY_KDF_ITERATIONS,
) -> None:
    """Write a period's private key as encrypted PKCS#8 PEM to a new 0600 file: PBES2,
    PBKDF2-HMAC-SHA256 with ``iterations`` (fewer only in tests), AES-256-CBC.

    Raises ``KeyFileError`` if the file exists (checked before the slow key derivation too).
    """
    if path.exists() or path.is_symlink():
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    _write_new(path, pkcs8.encrypt_pem(key, passphrase.encode("utf-8"), iterations))


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


class PeriodKeyKdf(NamedTuple):
    """How a period key file's passphrase is stretched: ``period_key_kdf``'s answer."""

    algorithm: str  # e.g. "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"
    iterations: int  # 0 when the scheme has no iteration count this reader knows

    @property
    def weak(self) -> bool:
        """True unless the scheme is ``PERIOD_KEY_KDF`` with at least the minimum iterations."""
        return self.algorithm != PERIOD_KEY_KDF or self.iterations < PERIOD_KEY_MIN_KDF_ITERATIONS


def period_key_kdf(path: Path) -> PeriodKeyKdf:
    """The encryption scheme and iteration count of an encrypted PKCS#8 PEM file, read from its
    ``EncryptedPrivateKeyInfo`` without the passphrase.

    Raises ``KeyFileError`` when the file is missing or not an encrypted PKCS#8 PEM key.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path} is not a regular file") from None
    try:
        encryption = pkcs8.parse_encryption(pkcs8.pem_der(data))
    except pkcs8.DerError as exc:
        raise KeyFileError(f"{path} is not an encrypted PKCS#8 PEM key: {exc}") from None
    return PeriodKeyKdf(encryption.name, encryption.iterations or 0)


def write_period_public(path: Path, public_key: bytes) -> None:
    """Write a period's public half (the 65-byte point) as a small JSON file, new and 0600:
    ``{"kind": ..., "public_key": base64url, "fingerprint": ...}``. ``KeyFileError`` if the file
    exists."""
    document = {
        "kind": PERIOD_PUBLIC_KIND,
        "public_key": b64.encode(public_key),
        "fingerprint": engine.fingerprint(public_key),
    }
    _write_new(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def read_period_public(path: Path) -> tuple[str, str | None]:
    """The public key text and the fingerprint a public-half file states (either may be wrong:
    the caller checks both); ``KeyFileError`` unless it is such a file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_PUBLIC_FILE_MAX_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    if len(data) > _PUBLIC_FILE_MAX_BYTES:
        raise KeyFileError(f"{path} is too large for a period public key file")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        document = None
    if not isinstance(document, dict) or document.get("kind") != PERIOD_PUBLIC_KIND:
        raise KeyFileError(f"{path} is not a period public key file (make-period-key writes one)")
    public, stated = document.get("public_key"), document.get("fingerprint")
    if not isinstance(public, str) or not isinstance(stated, str | None):
        raise KeyFileError(f"{path} is not a period public key file (make-period-key writes one)")
    return public, stated


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
