from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roleport.crypto import secrets
from roleport.crypto.errors import CryptoError

KEY = bytes(range(32))


def test_constant_time_equals() -> None:
    assert secrets.constant_time_equals(b"abc", b"abc")
    assert not secrets.constant_time_equals(b"abc", b"abd")
    assert not secrets.constant_time_equals(b"abc", b"abcd")
    assert secrets.constant_time_equals("é", "é".encode())
    assert not secrets.constant_time_equals("é", "e")


def test_hmac_sha256_matches_rfc_4231_case_2() -> None:
    digest = secrets.hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert digest.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert secrets.hmac_sha256("Jefe", "what do ya want for nothing?") == digest


def test_hkdf_matches_rfc_5869_case_1() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = secrets.hkdf(ikm, info, 42, salt=salt)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


def test_hkdf_separates_purposes_and_checks_length() -> None:
    assert secrets.hkdf(KEY, "a") != secrets.hkdf(KEY, "b")
    assert len(secrets.hkdf(KEY, "a", 64)) == 64
    with pytest.raises(ValueError):
        secrets.hkdf(KEY, "a", 0)


def test_random_bytes_and_token() -> None:
    assert len(secrets.random_bytes(16)) == 16
    assert secrets.random_bytes(16) != secrets.random_bytes(16)
    token = secrets.random_token(32)
    assert len(token) == 43 and "=" not in token and "+" not in token and "/" not in token
    with pytest.raises(ValueError):
        secrets.random_bytes(-1)


@given(st.binary(max_size=2000), st.binary(max_size=64))
def test_seal_then_open_round_trips(plaintext: bytes, aad: bytes) -> None:
    blob = secrets.seal(KEY, plaintext, aad)
    assert len(blob) == secrets.NONCE_BYTES + len(plaintext) + secrets.TAG_BYTES
    assert secrets.open_(KEY, blob, aad) == plaintext


def test_seal_uses_a_fresh_nonce_each_time() -> None:
    assert secrets.seal(KEY, b"same") != secrets.seal(KEY, b"same")


@given(st.data())
def test_open_rejects_any_single_bit_flip(data: st.DataObject) -> None:
    blob = bytearray(secrets.seal(KEY, b"claims", b"kid-1"))
    index = data.draw(st.integers(0, len(blob) - 1))
    blob[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(CryptoError, match="failed authentication"):
        secrets.open_(KEY, bytes(blob), b"kid-1")


def test_open_rejects_wrong_key_wrong_aad_and_truncation() -> None:
    blob = secrets.seal(KEY, b"claims", b"kid-1")
    with pytest.raises(CryptoError, match="failed authentication"):
        secrets.open_(bytes(32), blob, b"kid-1")
    with pytest.raises(CryptoError, match="failed authentication"):
        secrets.open_(KEY, blob, b"kid-2")
    with pytest.raises(CryptoError, match="failed authentication"):
        secrets.open_(KEY, blob[:-1], b"kid-1")
    with pytest.raises(CryptoError, match="too short"):
        secrets.open_(KEY, blob[:27], b"kid-1")


def test_aead_key_must_be_32_bytes() -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        secrets.seal(b"short", b"x")


@given(st.binary(max_size=64))
def test_base32_round_trips_without_padding(data: bytes) -> None:
    text = secrets.b32encode(data)
    assert "=" not in text and text == text.upper()
    assert secrets.b32decode(text) == data
    assert secrets.b32decode(text.lower()) == data


def test_b32decode_rejects_non_base32() -> None:
    with pytest.raises(CryptoError, match="not base32"):
        secrets.b32decode("01!")


def test_hmac_sha256_agrees_with_stdlib() -> None:
    assert secrets.hmac_sha256(KEY, b"m") == hmac.new(KEY, b"m", hashlib.sha256).digest()
