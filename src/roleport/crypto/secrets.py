"""Small symmetric primitives for the rest of Roleport (credential minting, tokens, auth).

* :func:`constant_time_equals`: compare secrets without leaking where they differ;
* :func:`hmac_sha256`, :func:`hkdf`: keyed hashing and key derivation (SHA-256);
* :func:`random_bytes`, :func:`random_token`: randomness from the OS;
* :func:`seal` / :func:`open_`: AES-256-GCM authenticated encryption with a random
  96-bit nonce, blob = ``nonce || ciphertext || tag``; any tampering raises CryptoError;
* :func:`b32encode` / :func:`b32decode`: unpadded base32 (AWS-style key ids).

Keys are plain ``bytes``; nothing here keeps state between calls.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import os
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from roleport.crypto.errors import CryptoError

__all__ = [
    "AEAD_KEY_BYTES",
    "NONCE_BYTES",
    "TAG_BYTES",
    "b32decode",
    "b32encode",
    "constant_time_equals",
    "hkdf",
    "hmac_sha256",
    "open_",
    "random_bytes",
    "random_token",
    "seal",
]

AEAD_KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce
TAG_BYTES = 16
#: HKDF-SHA-256 can produce at most 255 blocks of 32 bytes
_HKDF_MAX = 255 * 32


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def constant_time_equals(a: bytes | str, b: bytes | str) -> bool:
    """True when ``a == b``, in time independent of where they differ (str as UTF-8)."""
    return hmac.compare_digest(_as_bytes(a), _as_bytes(b))


def hmac_sha256(key: bytes | str, message: bytes | str) -> bytes:
    """HMAC-SHA-256 of ``message`` under ``key`` (32 bytes)."""
    return hmac.digest(_as_bytes(key), _as_bytes(message), sha256)


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    if n < 0:
        raise ValueError("n must not be negative")
    return os.urandom(n)


def random_token(n: int = 32) -> str:
    """URL-safe text carrying ``n`` random bytes (no padding)."""
    return base64.urlsafe_b64encode(random_bytes(n)).rstrip(b"=").decode("ascii")


def hkdf(key: bytes, info: bytes | str, length: int = 32, *, salt: bytes | None = None) -> bytes:
    """HKDF-SHA-256 (RFC 5869): ``length`` bytes derived from ``key`` for purpose ``info``."""
    if not 0 < length <= _HKDF_MAX:
        raise ValueError(f"length must be 1..{_HKDF_MAX}")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt,
                info=_as_bytes(info)).derive(bytes(key))


def _aead(key: bytes) -> AESGCM:
    if len(key) != AEAD_KEY_BYTES:
        raise CryptoError(f"AEAD key must be {AEAD_KEY_BYTES} bytes, got {len(key)}")
    return _cipher(bytes(key))


@functools.lru_cache(maxsize=32)
def _cipher(key: bytes) -> AESGCM:
    """The cipher for a key, kept: a server seals and opens under a handful of keys."""
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt and authenticate ``plaintext`` (and ``aad``, not encrypted) under ``key``.

    Returns ``nonce || ciphertext || tag``; the nonce is random, so sealing the same
    plaintext twice gives different blobs. Do not seal more than about 2**32 messages
    under one key (random-nonce GCM limit): rotate keys long before.
    """
    nonce = random_bytes(NONCE_BYTES)
    return nonce + _aead(key).encrypt(nonce, bytes(plaintext), bytes(aad))


def open_(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """The plaintext of a :func:`seal` blob; CryptoError if anything was altered.

    A wrong key, wrong ``aad``, a truncated or modified blob all give the same error,
    on purpose: the caller learns nothing about which.
    """
    cipher = _aead(key)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("sealed data is too short")
    try:
        return cipher.decrypt(bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), bytes(aad))
    except InvalidTag:
        raise CryptoError("sealed data failed authentication (altered, or wrong key)") from None


def b32encode(data: bytes) -> str:
    """Upper-case RFC 4648 base32 without ``=`` padding."""
    return base64.b32encode(data).rstrip(b"=").decode("ascii")


def b32decode(text: str) -> bytes:
    """Inverse of :func:`b32encode` (case-insensitive); CryptoError if not base32."""
    raw = text.strip().upper()
    try:
        return base64.b32decode(raw + "=" * (-len(raw) % 8))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("not base32", detail=str(exc)) from exc


def b64url_encode(data: bytes) -> str:
    """RFC 4648 base64url without ``=`` padding (tokens in cookies and URLs)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url_encode`; CryptoError if not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("not base64url", detail=str(exc)) from exc
