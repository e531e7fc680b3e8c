"""Passphrase-encrypted PKCS#8 under PBES2: written here, and its parameters read back.

``cryptography`` writes encrypted PKCS#8 only through ``BestAvailableEncryption``, whose PBKDF2
iteration count is fixed (2,048 in cryptography 50); its ``encryption_builder`` (where
``kdf_rounds`` and ``key_cert_algorithm`` live) accepts PKCS#12 and OpenSSH, not PKCS#8. So the
``EncryptedPrivateKeyInfo`` (RFC 5958 §3) is assembled here with PBES2 (RFC 8018 §6.2):
PBKDF2-HMAC-SHA256 and AES-256-CBC, the form ``openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf
hmacWithSHA256 -iter N`` writes. ``load_pem_private_key`` reads it, as it reads older files.

The reader goes only as far as the encryption parameters, to tell a weak file from a strong
one; it never decrypts. It is a strict DER reader for exactly these structures: definite,
minimal lengths, no trailing bytes, and every field where the ASN.1 modules put it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PEM_BEGIN: Final = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
PEM_END: Final = b"-----END ENCRYPTED PRIVATE KEY-----"

# Object identifiers (RFC 8018 appendix A and C, NIST CSOR for AES).
PBES2: Final = "1.2.840.113549.1.5.13"
PBKDF2: Final = "1.2.840.113549.1.5.12"
HMAC_SHA1: Final = "1.2.840.113549.2.7"  # PBKDF2's prf when the field is absent
HMAC_SHA256: Final = "1.2.840.113549.2.9"
AES_256_CBC: Final = "2.16.840.1.101.3.4.1.42"

#: Names for the identifiers a period key file is likely to carry; others show as dotted OIDs.
NAMES: Final = {
    PBES2: "PBES2",
    PBKDF2: "PBKDF2",
    "1.3.6.1.4.1.11591.4.11": "scrypt",
    HMAC_SHA1: "HMAC-SHA1",
    "1.2.840.113549.2.8": "HMAC-SHA224",
    HMAC_SHA256: "HMAC-SHA256",
    "1.2.840.113549.2.10": "HMAC-SHA384",
    "1.2.840.113549.2.11": "HMAC-SHA512",
    "2.16.840.1.101.3.4.1.2": "AES-128-CBC",
    "2.16.840.1.101.3.4.1.22": "AES-192-CBC",
    AES_256_CBC: "AES-256-CBC",
    "1.2.840.113549.3.7": "DES-EDE3-CBC",
    "1.2.840.113549.1.5.3": "PBES1 MD5 DES-CBC",
    "1.2.840.113549.1.5.10": "PBES1 SHA1 DES-CBC",
    "1.2.840.113549.1.12.1.3": "PKCS#12 PBE SHA1 3DES",
    "1.2.840.113549.1.12.1.6": "PKCS#12 PBE SHA1 RC2-40",
}
#: PBES1 and PKCS#12 schemes: their parameters are ``SEQUENCE { salt, iterationCount }``.
_PBE_SCHEMES: Final = frozenset(
    {"1.2.840.113549.1.5." + n for n in ("1", "3", "4", "6", "10", "11")}
    | {"1.2.840.113549.1.12.1." + n for n in "123456"}
)

_AES_CBC: Final = frozenset({"2.16.840.1.101.3.4.1.2", "2.16.840.1.101.3.4.1.22", AES_256_CBC})

SALT_BYTES: Final = 16
_AES_BLOCK: Final = 16
_AES_256_KEY: Final = 32
_PEM_LINE: Final = 64

# DER identifier octets (X.690 §8): universal, primitive or constructed.
_INTEGER: Final = 0x02
_OCTET_STRING: Final = 0x04
_NULL: Final = 0x05
_OID: Final = 0x06
_SEQUENCE: Final = 0x30


class DerError(ValueError):
    """Not the DER of an encrypted PKCS#8 key as RFC 5958 and RFC 8018 define it."""


@dataclass(frozen=True, slots=True)
class Encryption:
    """How an ``EncryptedPrivateKeyInfo`` is encrypted, as dotted OIDs and counts.

    ``kdf``, ``prf``, ``cipher`` and ``iterations`` are ``None`` where the scheme does not have
    them or this reader does not look inside (a scheme other than PBES2 with PBKDF2).
    """

    scheme: str
    kdf: str | None = None
    prf: str | None = None
    iterations: int | None = None
    cipher: str | None = None
    salt_bytes: int | None = None

    @property
    def name(self) -> str:
        """E.g. ``PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC``."""
        parts = [_name(self.scheme)]
        if self.kdf is not None:
            parts.append(_name(self.kdf) + ("" if self.prf is None else f"-{_name(self.prf)}"))
        if self.cipher is not None:
            parts.append(_name(self.cipher))
        return "/".join(parts)


def _name(oid: str) -> str:
    return NAMES.get(oid, oid)


# ---------------------------------------------------------------------- writing


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        digits = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(digits)]) + digits
    return bytes([tag]) + length + content


def _sequence(*items: bytes) -> bytes:
    return _tlv(_SEQUENCE, b"".join(items))


def _integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are written")
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _base128(arc: int) -> bytes:
    out = [arc & 0x7F]
    arc >>= 7
    while arc:
        out.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(out))


def _oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = _base128(40 * arcs[0] + arcs[1]) + b"".join(_base128(arc) for arc in arcs[2:])
    return _tlv(_OID, body)


def _pem(der: bytes) -> bytes:
    text = base64.b64encode(der)
    lines = [text[i : i + _PEM_LINE] for i in range(0, len(text), _PEM_LINE)]
    return b"\n".join([PEM_BEGIN, *lines, PEM_END]) + b"\n"


def encrypt_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes, iterations: int) -> bytes:
    """``key`` as PEM ``ENCRYPTED PRIVATE KEY``: PBES2, PBKDF2-HMAC-SHA256 with ``iterations``
    and a random 16-byte salt, AES-256-CBC with a random IV.

    The result is opened again with ``load_pem_private_key`` before it is returned (one more
    PBKDF2 run), so a file this writes is one the loader reads; ``ValueError`` if it is not.
    """
    if iterations < 1:
        raise ValueError("PBKDF2 needs at least one iteration")
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, iv = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(_AES_BLOCK)
    kdf = PBKDF2HMAC(hashes.SHA256(), _AES_256_KEY, salt, iterations)
    padder = padding.PKCS7(8 * _AES_BLOCK).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kdf.derive(passphrase)), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    pbkdf2_params = _sequence(
        _tlv(_OCTET_STRING, salt), _integer(iterations), _sequence(_oid(HMAC_SHA256), b"\x05\x00")
    )
    pbes2_params = _sequence(
        _sequence(_oid(PBKDF2), pbkdf2_params),
        _sequence(_oid(AES_256_CBC), _tlv(_OCTET_STRING, iv)),
    )
    der = _sequence(_sequence(_oid(PBES2), pbes2_params), _tlv(_OCTET_STRING, encrypted))
    pem = _pem(der)
    reopened = serialization.load_pem_private_key(pem, password=passphrase)
    if not isinstance(reopened, ec.EllipticCurvePrivateKey) or (
        reopened.private_numbers() != key.private_numbers()
    ):
        raise ValueError("the encrypted key did not open to the same key")
    return pem


# ---------------------------------------------------------------------- reading


class _Reader:
    """Consumes DER elements from ``data`` in order; every read checks the expected tag."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def done(self) -> bool:
        return self._pos == len(self._data)

    def end(self) -> None:
        if not self.done():
            raise DerError("trailing bytes after a DER element")

    def peek(self) -> int | None:
        return None if self.done() else self._data[self._pos]

    def read(self, tag: int) -> bytes:
        """The content octets of the next element, which must have identifier ``tag``."""
        data, pos = self._data, self._pos
        if pos + 2 > len(data):
            raise DerError("truncated DER element")
        if data[pos] != tag:
            raise DerError(f"expected DER tag 0x{tag:02x}, found 0x{data[pos]:02x}")
        first = data[pos + 1]
        pos += 2
        if first < 0x80:
            size = first
        else:
            count = first & 0x7F
            if count == 0:
                raise DerError("indefinite length is not DER")
            if count > 4 or pos + count > len(data):
                raise DerError("DER length out of range")
            digits = data[pos : pos + count]
            pos += count
            size = int.from_bytes(digits, "big")
            if digits[0] == 0 or size < 0x80:
                raise DerError("DER length not in its shortest form")
        if pos + size > len(data):
            raise DerError("truncated DER element")
        self._pos = pos + size
        return data[pos : pos + size]

    def sequence(self) -> _Reader:
        return _Reader(self.read(_SEQUENCE))

    def integer(self) -> int:
        content = self.read(_INTEGER)
        if not content:
            raise DerError("empty INTEGER")
        if len(content) > 1 and (
            (content[0] == 0x00 and content[1] < 0x80)
            or (content[0] == 0xFF and content[1] >= 0x80)
        ):
            raise DerError("INTEGER not in its shortest form")
        if content[0] >= 0x80:
            raise DerError("negative INTEGER")
        if len(content) > 8:
            raise DerError("INTEGER out of range")
        return int.from_bytes(content, "big")

    def oid(self) -> str:
        content = self.read(_OID)
        if not content or content[-1] & 0x80:
            raise DerError("truncated OBJECT IDENTIFIER")
        arcs: list[int] = []
        value, fresh = 0, True
        for byte in content:
            if fresh and byte == 0x80:
                raise DerError("OBJECT IDENTIFIER arc not in its shortest form")
            value = (value << 7) | (byte & 0x7F)
            fresh = not byte & 0x80
            if fresh:
                arcs.append(value)
                value = 0
        first = min(arcs[0] // 40, 2)
        return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def _algorithm(reader: _Reader) -> tuple[str, _Reader]:
    """An ``AlgorithmIdentifier``: its OID, and a reader positioned on its parameters."""
    algorithm = reader.sequence()
    return algorithm.oid(), algorithm


def _pbkdf2(params: _Reader) -> tuple[str, int, int]:
    """``PBKDF2-params``: the prf OID, the iteration count and the salt length."""
    fields = params.sequence()
    params.end()
    salt = fields.read(_OCTET_STRING)  # otherSource (an AlgorithmIdentifier) is reserved
    iterations = fields.integer()
    if iterations < 1:
        raise DerError("PBKDF2 iteration count must be positive")
    if fields.peek() == _INTEGER:
        fields.integer()  # keyLength
    prf = HMAC_SHA1
    if not fields.done():
        prf, prf_params = _algorithm(fields)
        if not prf_params.done():
            prf_params.read(_NULL)
        prf_params.end()
    fields.end()
    return prf, iterations, len(salt)


def parse_encryption(der: bytes) -> Encryption:
    """The encryption parameters of an ``EncryptedPrivateKeyInfo``; ``DerError`` when ``der`` is
    not one."""
    outer = _Reader(der)
    info = outer.sequence()
    outer.end()
    scheme, params = _algorithm(info)
    if not info.read(_OCTET_STRING):
        raise DerError("empty encryptedData")
    info.end()
    if scheme in _PBE_SCHEMES:
        pbe = params.sequence()
        params.end()
        salt = pbe.read(_OCTET_STRING)
        iterations = pbe.integer()
        pbe.end()
        return Encryption(scheme, iterations=iterations, salt_bytes=len(salt))
    if scheme != PBES2:
        return Encryption(scheme)
    pbes2 = params.sequence()
    params.end()
    kdf, kdf_params = _algorithm(pbes2)
    cipher, cipher_params = _algorithm(pbes2)
    pbes2.end()
    if cipher in _AES_CBC:
        if len(cipher_params.read(_OCTET_STRING)) != _AES_BLOCK:
            raise DerError("an AES-CBC IV is 16 bytes")
        cipher_params.end()
    if kdf != PBKDF2:
        return Encryption(scheme, kdf=kdf, cipher=cipher)
    prf, iterations, salt_bytes = _pbkdf2(kdf_params)
    return Encryption(scheme, kdf, prf, iterations, cipher, salt_bytes)


def pem_der(pem: bytes) -> bytes:
    """The DER inside the first ``ENCRYPTED PRIVATE KEY`` PEM block; ``DerError`` otherwise.

    The block is RFC 7468's strict form: base64 lines and nothing else (no headers).
    """
    start = pem.find(PEM_BEGIN)
    stop = pem.find(PEM_END, start + 1)
    if start < 0 or stop < 0:
        raise DerError("no ENCRYPTED PRIVATE KEY block")
    body = b"".join(pem[start + len(PEM_BEGIN) : stop].split())
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise DerError("the ENCRYPTED PRIVATE KEY block is not base64") from None
