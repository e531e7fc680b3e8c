"""Period key files under PBES2 with a strong PBKDF2, and the strict reader of their parameters.

The identifiers are spelled out here from RFC 8018 and NIST's registry, not taken from the
module under test, so that a wrong constant there cannot agree with itself.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.crypto import hpke
from app.keys import files, pkcs8

PASSPHRASE = "a long custody passphrase"
FAST = 1_000  # iterations for tests that are not about the count
RFC_PBES2 = "1.2.840.113549.1.5.13"
RFC_PBKDF2 = "1.2.840.113549.1.5.12"
RFC_HMAC_SHA256 = "1.2.840.113549.2.9"
NIST_AES_256_CBC = "2.16.840.1.101.3.4.1.42"
OPENSSL = shutil.which("openssl")


def _encryption(path: Path) -> pkcs8.Encryption:
    return pkcs8.parse_encryption(pkcs8.pem_der(path.read_bytes()))


def test_a_period_key_file_has_the_strong_kdf_by_default(tmp_path: Path) -> None:
    path = tmp_path / "period.pem"
    key = hpke.generate_private_key()
    files.write_period_key(path, key, PASSPHRASE)  # the real default count

    encryption = _encryption(path)
    assert encryption.scheme == RFC_PBES2
    assert encryption.kdf == RFC_PBKDF2
    assert encryption.prf == RFC_HMAC_SHA256
    assert encryption.cipher == NIST_AES_256_CBC
    assert encryption.iterations == files.PERIOD_KEY_KDF_ITERATIONS
    assert encryption.iterations >= 600_000
    assert encryption.salt_bytes == 16
    kdf = files.period_key_kdf(path)
    assert kdf == ("PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC", files.PERIOD_KEY_KDF_ITERATIONS)
    assert not kdf.weak

    loaded = files.load_period_key(path, PASSPHRASE)
    assert hpke.public_key_bytes(loaded) == hpke.public_key_bytes(key)
    with pytest.raises(files.KeyFileError, match="wrong passphrase"):
        files.load_period_key(path, PASSPHRASE + " ")


@pytest.mark.skipif(OPENSSL is None, reason="no openssl command to cross-check with")
def test_openssl_reads_the_same_parameters_and_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "period.pem"
    key = hpke.generate_private_key()
    files.write_period_key(path, key, PASSPHRASE, iterations=FAST)
    parsed = subprocess.run(  # noqa: S603
        [str(OPENSSL), "asn1parse", "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout
    for name in (":PBES2", ":PBKDF2", ":hmacWithSHA256", ":aes-256-cbc", ":03E8"):
        assert name in parsed, parsed
    opened = subprocess.run(  # noqa: S603
        [str(OPENSSL), "pkcs8", "-in", str(path), "-passin", f"pass:{PASSPHRASE}"],
        capture_output=True,
        check=True,
    ).stdout
    plain = serialization.load_pem_private_key(opened, password=None)
    assert hpke.public_key_bytes(plain) == hpke.public_key_bytes(key)  # type: ignore[arg-type]


def test_an_older_weak_file_still_opens_and_is_called_weak(tmp_path: Path) -> None:
    path = tmp_path / "old.pem"
    key = hpke.generate_private_key()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    assert hpke.public_key_bytes(files.load_period_key(path, PASSPHRASE)) == (
        hpke.public_key_bytes(key)
    )
    kdf = files.period_key_kdf(path)
    assert kdf.algorithm == "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"
    assert kdf.iterations < files.PERIOD_KEY_MIN_KDF_ITERATIONS
    assert kdf.weak


def test_a_lower_count_is_written_as_asked_and_called_weak(tmp_path: Path) -> None:
    path = tmp_path / "fast.pem"
    files.write_period_key(path, hpke.generate_private_key(), PASSPHRASE, iterations=FAST)
    assert files.period_key_kdf(path) == (files.PERIOD_KEY_KDF, FAST)
    assert files.period_key_kdf(path).weak
    with pytest.raises(ValueError, match="at least one iteration"):
        files.write_period_key(
            tmp_path / "none.pem", hpke.generate_private_key(), "x", iterations=0
        )


def _pbes1_der(iterations: int) -> bytes:
    """pbeWithSHAAnd3-KeyTripleDES-CBC (PKCS#12 appendix C) around a dummy ciphertext."""
    params = pkcs8._sequence(pkcs8._tlv(0x04, bytes(8)), pkcs8._integer(iterations))
    algorithm = pkcs8._sequence(pkcs8._oid("1.2.840.113549.1.12.1.3"), params)
    return pkcs8._sequence(algorithm, pkcs8._tlv(0x04, bytes(16)))


def test_other_schemes_are_named_and_weak(tmp_path: Path) -> None:
    path = tmp_path / "pbes1.pem"
    path.write_bytes(pkcs8._pem(_pbes1_der(2048)))
    kdf = files.period_key_kdf(path)
    assert kdf == ("PKCS#12 PBE SHA1 3DES", 2048)
    assert kdf.weak
    unknown = pkcs8._sequence(
        pkcs8._sequence(pkcs8._oid("1.3.6.1.4.1.99999.1"), b"\x05\x00"), pkcs8._tlv(0x04, b"x")
    )
    assert pkcs8.parse_encryption(unknown).name == "1.3.6.1.4.1.99999.1"
    assert files.PeriodKeyKdf("1.3.6.1.4.1.99999.1", 0).weak
    assert files.PeriodKeyKdf(files.PERIOD_KEY_KDF, 10_000_000).weak is False


@pytest.mark.parametrize(
    "oid", ["1.2.840.113549.1.5.13", "2.16.840.1.101.3.4.1.42", "2.999.3", "0.9.2342.19200300"]
)
def test_object_identifiers_round_trip(oid: str) -> None:
    assert pkcs8._Reader(pkcs8._oid(oid)).oid() == oid


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 600_000, 2**40])
def test_integers_round_trip_in_their_shortest_form(value: int) -> None:
    encoded = pkcs8._integer(value)
    assert pkcs8._Reader(encoded).integer() == value
    assert len(encoded) == 2 + value.bit_length() // 8 + 1


@pytest.mark.parametrize(
    ("der", "reason"),
    [
        (b"\x30\x03\x02\x01", "truncated"),
        (b"\x30", "truncated"),
        (b"\x30\x80\x00\x00", "indefinite"),
        (b"\x30\x81\x05\x02\x01\x01\x05\x00", "shortest form"),
        (b"\x30\x82\x00\x03\x02\x01\x01", "shortest form"),
        (b"\x30\x85\x00\x00\x00\x00\x01\x00", "out of range"),
        (b"\x31\x00", "expected DER tag"),
        (b"\x30\x00\x00", "trailing"),
    ],
)
def test_the_reader_refuses_what_is_not_der(der: bytes, reason: str) -> None:
    def read_one() -> None:
        reader = pkcs8._Reader(der)
        reader.sequence()
        reader.end()

    with pytest.raises(pkcs8.DerError, match=reason):
        read_one()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x02\x00", "empty"),
        (b"\x02\x02\x00\x01", "shortest form"),
        (b"\x02\x02\xff\x80", "shortest form"),
        (b"\x02\x01\x80", "negative"),
        (b"\x02\x09\x01" + bytes(8), "out of range"),
        (b"\x06\x02\x2a\x86", "truncated OBJECT"),
        (b"\x06\x03\x2a\x80\x01", "OBJECT IDENTIFIER arc"),
    ],
)
def test_the_reader_refuses_bad_integers_and_identifiers(content: bytes, reason: str) -> None:
    reader = pkcs8._Reader(content)
    with pytest.raises(pkcs8.DerError, match=reason):
        reader.integer() if content[0] == 0x02 else reader.oid()


def test_a_damaged_or_foreign_file_is_refused_without_a_traceback_worthy_error(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.pem"
    files.write_period_key(good, hpke.generate_private_key(), PASSPHRASE, iterations=FAST)
    der = pkcs8.pem_der(good.read_bytes())
    for name, data in {
        "trailing.pem": pkcs8._pem(der + b"\x00"),
        "cut.pem": pkcs8._pem(der[:-1]),
        "garbled.pem": good.read_bytes().replace(b"M", b"*", 1),
        "plain.pem": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(files.KeyFileError, match="not an encrypted PKCS#8 PEM key"):
            files.period_key_kdf(path)
    with pytest.raises(files.KeyFileError, match="does not exist"):
        files.period_key_kdf(tmp_path / "missing.pem")
