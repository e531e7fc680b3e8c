"""Generated passphrases, and how make-period-key and new-period ask for one."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.keys import cli_period, engine

GROUPS = r"[0-9a-hjkmnp-tv-z]{5}(?:-[0-9a-hjkmnp-tv-z]{5}){5}"  # Crockford base32, no i l o u


def test_a_generated_passphrase_has_the_claimed_shape_and_entropy() -> None:
    drawn = [engine.generate_passphrase() for _ in range(200)]
    for passphrase in drawn:
        assert re.fullmatch(GROUPS, passphrase), passphrase
        assert len(passphrase) == 35
        engine.check_passphrase(passphrase)
    assert len(set(engine.GENERATED_ALPHABET)) == 32
    bits = engine.GENERATED_GROUPS * engine.GENERATED_GROUP_CHARS * math.log2(32)
    assert engine.GENERATED_PASSPHRASE_BITS == bits == 150
    assert engine.GENERATED_PASSPHRASE_BITS >= 100
    assert len(set(drawn)) == len(drawn)
    # every symbol turns up: the draw is over the whole alphabet, not a corner of it
    assert set("".join(drawn).replace("-", "")) == set(engine.GENERATED_ALPHABET)


def _args(**flags: bool) -> argparse.Namespace:
    return argparse.Namespace(
        passphrase_stdin=flags.get("stdin", False),
        generate_passphrase=flags.get("generate", False),
    )


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What the custodian types at each getpass prompt, in order; what is left afterwards."""
    answers: list[str] = []
    monkeypatch.setattr(cli_period.getpass, "getpass", lambda _prompt="": answers.pop(0))
    yield answers
    assert answers == []


def _offered(err: str) -> str:
    (passphrase,) = re.findall(GROUPS, err)
    return passphrase


def test_enter_accepts_the_offered_passphrase(
    typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed.append("")
    chosen = cli_period.passphrase(_args(), Path("p.pem"))
    err = capsys.readouterr().err
    assert chosen == _offered(err)
    assert "password manager" in err
    assert "150 random bits" in err


def test_an_own_passphrase_is_typed_twice(
    typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed.extend(["my own long passphrase", "my own long passphrase"])
    assert cli_period.passphrase(_args(), Path("p.pem")) == "my own long passphrase"
    typed.extend(["my own long passphrase", "my own long passphrasE"])
    with pytest.raises(ValueError, match="differ"):
        cli_period.passphrase(_args(), Path("p.pem"))
    typed.append("too short")
    with pytest.raises(engine.WeakPassphrase):
        cli_period.passphrase(_args(), Path("p.pem"))
    capsys.readouterr()


def test_generate_passphrase_prints_it_once_without_asking(
    typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = cli_period.passphrase(_args(generate=True), Path("p.pem"))
    out, err = capsys.readouterr()
    assert err.count(chosen) == 1
    assert chosen not in out
    assert "write this down or store it in your password manager" in err
    engine.check_passphrase(chosen)
