"""Owner-only files: 0600 whatever the umask, never over anything, nothing left on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.kit import files


def test_a_private_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    old_umask = os.umask(0)
    try:
        files.write_private(path, b"x" * 100_000)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"x" * 100_000


def test_nothing_is_ever_overwritten_or_followed(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        files.write_private(path, b"new")
    assert path.read_bytes() == b"old"
    target = tmp_path / "elsewhere"
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        files.write_private(link, b"new")
    assert not target.exists()


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    path = tmp_path / "secret"
    with pytest.raises(OSError, match="No space"):
        files.write_private(path, b"data")
    assert not path.exists()


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        files.write_private(tmp_path / "missing" / "secret", b"data")
    files.fsync_directory(tmp_path)  # and an existing one can be synced
