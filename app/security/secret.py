"""The server secret: 32 random bytes in the key directory, never in the database (issue 13).

It keys what the database keeps of staff session cookies and of typed login names, so that
whoever can read or write the database can neither turn a stored digest back into a name nor
mint a session by inserting a row: without the secret no digest they write matches a cookie.

The file (``server-secret`` in the 0700 key directory, mode 0600) is made on first start and
linked into place atomically, so several processes sharing the directory agree on one secret.
Replacing it ends every staff session (and forgets every counted login failure).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from app.config import Settings
from app.kit import files as private_files

log = logging.getLogger(__name__)

SECRET_BYTES: Final = 32
FILE_NAME: Final = "server-secret"
DIR_MODE: Final = 0o700


class SecretFileError(Exception):
    """The key directory or the secret file is unsafe or damaged; the message says why."""


def load_server_secret(settings: Settings) -> bytes:
    """The secret of the settings' key directory; a throwaway one in test mode without one.

    Raises ``SecretFileError`` when the directory or file is open to others or the file is not a
    secret, and ``ValueError`` outside test mode when no key directory is configured.
    """
    directory = settings.bucket_key_dir()
    if directory is None:
        if settings.mode != "test":
            raise ValueError("VH_KEY_DIR (or VH_SERVICE_KEY_FILE) must name the key directory")
        log.warning("test mode: using a throwaway server secret")
        return secrets.token_bytes(SECRET_BYTES)
    return ensure_secret(directory)


def ensure_secret(directory: Path) -> bytes:
    """The secret in ``directory`` (made 0700 if missing), created now if it does not exist."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        raise SecretFileError(f"{directory} is open to others (mode {mode:o}); chmod 700 it")
    path = directory / FILE_NAME
    if not path.exists():
        temporary = directory / f".{FILE_NAME}.{secrets.token_hex(8)}.tmp"
        private_files.write_private(temporary, secrets.token_bytes(SECRET_BYTES))
        try:
            os.link(temporary, path)
        except FileExistsError:
            _discard(temporary)  # another process was first: read its secret
        except BaseException:
            _discard(temporary)
            raise
        else:
            temporary.unlink()  # a second name of the secret itself: never zero it
        private_files.fsync_directory(directory)
    return _read(path)


def _discard(path: Path) -> None:
    """Zero, fsync and unlink a secret that was never used."""
    fd = os.open(path, os.O_WRONLY)
    try:
        private_files.write_all(fd, bytes(SECRET_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()


def _read(path: Path) -> bytes:
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise SecretFileError(f"{path} is not a regular file")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise SecretFileError(f"{path} is readable by others; chmod 600 it")
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise SecretFileError(f"{path} is not a server secret ({len(secret)} bytes)")
    return secret


def keyed_digest(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA-256 of ``value`` under ``secret``, hex; ``purpose`` separates the uses, so a
    session digest can never equal a login-name digest."""
    message = purpose.encode("ascii") + b"\x00" + value.encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def session_digest(secret: bytes, token: str) -> str:
    """What ``staff_sessions`` keeps of a session cookie."""
    return keyed_digest(secret, "staff-session", token)


def name_digest(secret: bytes, name: str) -> str:
    """What ``login_failures`` keeps of a (normalised) typed username, known or not."""
    return keyed_digest(secret, "login-name", name)
