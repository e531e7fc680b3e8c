"""Owner-only files: created exclusively with mode 0600, written in full and fsynced.

For secrets and plaintext that must not be left readable by others (key files, transcript
exports, the reference client's device keys): never written over an existing file or through a
symlink, and removed again if writing fails half-way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

PRIVATE_MODE: Final = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (whatever the umask), write ``data`` and fsync it.

    Raises ``FileExistsError`` if anything (a file, a symlink) is at ``path``, and ``OSError``
    when the file cannot be created or written; a file created before the failure is removed.
    The caller fsyncs the directory (``fsync_directory``) if the new name must be durable too.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_directory(directory: Path) -> None:
    """Make the names in ``directory`` durable (a new or removed file survives a crash)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


DIR_MODE: Final = 0o700
#: The files SQLite keeps beside a database: it gives them the database file's mode.
SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")


def private_directory(path: Path, *, tighten: bool = False) -> None:
    """Create ``path`` (and missing parents) owner-only. An existing directory is left as it is
    unless ``tighten`` (a directory of ours, such as ``var/``): then it becomes 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):  # ``mkdir(parents=True)`` would use the umask above
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
    if tighten and path.stat().st_mode & 0o077:
        path.chmod(DIR_MODE)


def private_database(path: Path) -> list[Path]:
    """Make the SQLite database at ``path`` and its WAL, shared-memory and journal files
    owner-only (0600), creating an empty database file if there is none, so SQLite never
    creates one under the umask. Returns the files whose mode had to be tightened."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_MODE)
    os.close(fd)
    tightened = []
    for file in (path, *(path.with_name(path.name + tail) for tail in SQLITE_COMPANIONS)):
        try:
            mode = file.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(PRIVATE_MODE)
            tightened.append(file)
    return tightened
