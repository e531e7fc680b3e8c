"""Bucket keys in the key directory: owner-only, made once (also by two processes), destroyed."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.keys.bucketkeys import BucketKeys
from app.keys.files import KeyFileError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_directory_and_the_keys_are_owner_only(tmp_path: Path) -> None:
    """R-28: The directory and the keys are owner only."""
    keys = BucketKeys(tmp_path / "keys" / "buckets")
    key = keys.get_or_create("2026-W49")
    assert len(key) == 32
    assert _mode(keys.directory) == 0o700
    assert _mode(keys.directory / "2026-W49.key") == 0o600
    assert keys.get_or_create("2026-W49") == key
    assert (keys.directory / "2026-W49.key").read_bytes() == key
    assert key != bytes(32)
    assert BucketKeys(keys.directory).get("2026-W49") == key  # as another process reads it
    assert keys.get_or_create("2026-W50") != key
    assert keys.weeks() == ["2026-W49", "2026-W50"]
    names = sorted(p.name for p in keys.directory.iterdir())
    assert names == ["2026-W49.key", "2026-W50.key"]  # no temporary left


def test_a_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)  # noqa: S103 - the mistake under test
    with pytest.raises(KeyFileError, match="chmod 700"):
        BucketKeys(loose)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    keys = BucketKeys(tmp_path / "b")
    keys.get_or_create("2026-W49")
    os.chmod(keys.directory / "2026-W49.key", 0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        BucketKeys(keys.directory).get("2026-W49")


def test_two_processes_agree_on_a_new_key(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    vaults = [BucketKeys(directory) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda v: v.get_or_create("2026-W50"), vaults))
    assert len(set(made)) == 1
    assert made[0] != bytes(32)
    assert (directory / "2026-W50.key").read_bytes() == made[0]
    assert sorted(p.name for p in directory.iterdir()) == ["2026-W50.key"]


def test_destruction_removes_the_key_for_every_holder(tmp_path: Path) -> None:
    one, other = BucketKeys(tmp_path / "d"), BucketKeys(tmp_path / "d")
    one.get_or_create("2026-W49")
    assert other.get("2026-W49") is not None  # now held in the other process's memory too
    assert one.destroy("2026-W49")
    assert not one.destroy("2026-W49")
    assert other.get("2026-W49") is None  # the file is gone: the memory copy is dropped
    assert one.weeks() == []


def test_only_week_ids_name_keys(tmp_path: Path) -> None:
    keys = BucketKeys(tmp_path / "w")
    for bad in ("../x", "2026-W54", "key"):
        with pytest.raises(ValueError, match="not a week id"):
            keys.get_or_create(bad)
    (keys.directory / "notes.txt").write_text("x")
    assert keys.weeks() == []
