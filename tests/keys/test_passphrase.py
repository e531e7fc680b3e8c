"""Generated passphrases for period key files."""

from __future__ import annotations

import math
import re

from app.keys import engine

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
