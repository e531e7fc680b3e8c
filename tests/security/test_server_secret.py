"""The server secret in the key directory (issue 13 (1)): made once, owner-only, shared by
every process of the directory, refused when unsafe; and the digests it keys."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from app.config import Settings
from app.security import secret as server_secret
from app.security.secret import (
    FILE_NAME,
    SECRET_BYTES,
    SecretFileError,
    ensure_secret,
    load_server_secret,
    name_digest,
    session_digest,
)


def test_made_on_first_start_owner_only_then_read_back(tmp_path: Path) -> None:
    """R-28: Made on first start owner only then read back."""
    directory = tmp_path / "keys"
    old = os.umask(0o022)
    try:
        first = ensure_secret(directory)
    finally:
        os.umask(old)
    path = directory / FILE_NAME
    assert len(first) == SECRET_BYTES
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == first
    assert ensure_secret(directory) == first
    assert [p.name for p in directory.iterdir()] == [FILE_NAME]  # no temporary left behind


def _make(directory: str, queue: multiprocessing.Queue[bytes]) -> None:
    queue.put(ensure_secret(Path(directory)))


def test_processes_racing_on_an_empty_directory_agree_on_one_secret(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[bytes] = context.Queue()
    workers = [context.Process(target=_make, args=(str(directory), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    got = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(60)
    assert got == {(directory / FILE_NAME).read_bytes()}
    assert sorted(p.name for p in directory.iterdir()) == [FILE_NAME]


def test_an_unsafe_directory_or_file_is_refused(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    with pytest.raises(SecretFileError, match="chmod 700"):
        ensure_secret(open_dir)

    readable = tmp_path / "readable"
    ensure_secret(readable)
    (readable / FILE_NAME).chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        ensure_secret(readable)

    short = tmp_path / "short"
    ensure_secret(short)
    path = short / FILE_NAME
    path.chmod(0o600)
    path.write_bytes(b"too short")
    with pytest.raises(SecretFileError, match="not a server secret"):
        ensure_secret(short)

    linked = tmp_path / "linked"
    linked.mkdir(mode=0o700)
    (linked / FILE_NAME).symlink_to(path)
    with pytest.raises(SecretFileError, match="not a regular file"):
        ensure_secret(linked)


def test_settings_name_the_directory_and_test_mode_alone_may_go_without(tmp_path: Path) -> None:
    key_dir = tmp_path / "kd"
    assert (
        load_server_secret(Settings(mode="production", key_dir=key_dir))
        == (key_dir / FILE_NAME).read_bytes()
    )
    beside = tmp_path / "service.key"
    made = load_server_secret(Settings(mode="production", service_key_file=beside))
    assert (tmp_path / "buckets" / FILE_NAME).read_bytes() == made
    with pytest.raises(ValueError, match="key directory"):
        load_server_secret(Settings(mode="production"))
    throwaway = load_server_secret(Settings(mode="test"))
    assert len(throwaway) == SECRET_BYTES
    assert throwaway != load_server_secret(Settings(mode="test"))


def test_digests_are_keyed_and_kept_apart_by_purpose() -> None:
    key, other = bytes(range(32)), bytes(32)
    token = "a-session-cookie"
    assert session_digest(key, token) != hashlib.sha256(token.encode()).hexdigest()
    assert session_digest(key, token) != session_digest(other, token)
    assert session_digest(key, token) != name_digest(key, token)
    assert len(name_digest(key, "sara")) == 64
    assert server_secret.keyed_digest(key, "x", "y") == server_secret.keyed_digest(key, "x", "y")
