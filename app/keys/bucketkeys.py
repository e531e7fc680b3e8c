"""The expiry bucket keys in the key directory (CRYPTO.md §6): one 32-byte file per week.

The directory is owner-only (0700) and its files 0600; it lives outside the database and is
never part of a database backup. A key is created on first use (atomically, so two processes
sharing the directory agree on it) and destroyed by zero-filling, fsync and unlink when the
purge says its week is over. Losing the directory loses every conversation sealed under it:
``vhouse keys buckets`` reports any week still needed whose key is missing.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Final

from app.crypto.bucket import KEY_BYTES
from app.keys.files import DIR_MODE, KeyFileError, destroy
from app.kit import files as private_files
from app.kit import weeks

SUFFIX: Final = ".key"


class BucketKeys:
    """The bucket keys of one key directory; keys read once are kept in this process's memory
    until their file is gone (destroyed here or by another process)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, bytes] = {}
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(f"{directory} is open to others (mode {mode:o}); chmod 700 it")

    def _path(self, week: str) -> Path:
        if not weeks.is_week(week):
            raise ValueError(f"not a week id: {week!r}")
        return self.directory / f"{week}{SUFFIX}"

    def get(self, week: str) -> bytes | None:
        """The key of ``week``, or None when it does not exist (destroyed, lost, never made)."""
        path = self._path(week)
        try:
            info = path.stat()
        except FileNotFoundError:
            self._cache.pop(week, None)
            return None
        cached = self._cache.get(week)
        if cached is not None:
            return cached
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise KeyFileError(f"{path} is readable by others; chmod 600 it")
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise KeyFileError(f"{path} is not a bucket key ({len(key)} bytes)")
        self._cache[week] = key
        return key

    def get_or_create(self, week: str) -> bytes:
        """The key of ``week``, made now if it does not exist yet.

        The new key is written to a private temporary file and linked into place: a process
        that loses the race reads the winner's key, and nobody ever reads half a file.
        """
        existing = self.get(week)
        if existing is not None:
            return existing
        final = self._path(week)
        temporary = self.directory / f".{week}.{secrets.token_hex(8)}.tmp"
        private_files.write_private(temporary, secrets.token_bytes(KEY_BYTES))
        try:
            os.link(temporary, final)
        except FileExistsError:
            destroy(temporary)  # another process was first: this key was never used
        except BaseException:
            destroy(temporary)
            raise
        else:
            # The temporary name is now a second name of the key itself: unlink, never zero it.
            temporary.unlink()
        private_files.fsync_directory(self.directory)
        key = self.get(week)
        if key is None:  # destroyed the moment it was made: a clock far out of step
            raise KeyFileError(f"the bucket key of {week} vanished as it was made")
        return key

    def weeks(self) -> list[str]:
        """The weeks whose keys are on disk, oldest first."""
        found = []
        for entry in self.directory.iterdir():
            name = entry.name
            if name.endswith(SUFFIX) and weeks.is_week(name[: -len(SUFFIX)]):
                found.append(name[: -len(SUFFIX)])
        return sorted(found)

    def destroy(self, week: str) -> bool:
        """Overwrite, fsync and unlink the key of ``week``; False if it was gone already."""
        self._cache.pop(week, None)
        try:
            destroy(self._path(week))
        except FileNotFoundError:
            return False
        return True

    def forget(self) -> None:
        """Drop the keys held in memory (they are read again from disk when needed)."""
        self._cache.clear()
