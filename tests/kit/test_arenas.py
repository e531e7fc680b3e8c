"""``limit_arenas``: glibc's arena cap is set for the serving process, unless the operator set
``MALLOC_ARENA_MAX`` (theirs is kept) or the C library has no ``mallopt``."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from app.kit import arenas


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="mallopt(M_ARENA_MAX) is glibc's; not this libc"
)
def test_the_cap_is_set_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert arenas.limit_arenas() is True


def test_the_operators_own_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert arenas.limit_arenas() is False


def test_no_c_library_found_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: None)
    assert arenas.limit_arenas() is False
