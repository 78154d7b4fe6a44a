from __future__ import annotations

import pytest

from roleport.crypto.algorithms import (
    REQUEST_ALGORITHM_BY_KEY_TYPE,
    describe_signature_algorithm,
    key_type_for_oid,
    key_weakness,
    mldsa_variant_for_oid,
    signature_weakness,
)
from roleport.crypto.names import build_name, name_attributes


@pytest.mark.parametrize(("oid", "hash_name"), [
    ("1.2.840.113549.1.1.11", "sha256"), ("1.2.840.10045.4.3.3", "sha384"),
    ("1.2.840.113549.1.1.13", "sha512"), ("2.16.840.1.101.3.4.3.18", None),
    ("1.3.101.112", None), ("1.2.840.113549.1.1.10", "sha256"),
])
def test_strong_signature_algorithms_pass(oid: str, hash_name: str | None) -> None:
    assert signature_weakness(oid, hash_name) is None


@pytest.mark.parametrize(("oid", "hash_name", "message"), [
    ("1.2.840.113549.1.1.5", "sha1", "sha1WithRSAEncryption uses SHA1"),
    ("1.2.840.113549.1.1.4", "md5", "md5WithRSAEncryption uses MD5"),
    ("1.2.840.10045.4.3.1", "sha224", "ecdsa-with-SHA224 uses SHA224"),
    ("1.2.3.4", None, "signature algorithm 1.2.3.4 is not supported"),
])
def test_weak_or_unknown_signature_algorithms_are_named(oid: str, hash_name: str | None,
                                                        message: str) -> None:
    weakness = signature_weakness(oid, hash_name)
    assert weakness is not None and message in weakness


@pytest.mark.parametrize(("key", "expected"), [
    (("RSA", 2048, None), None), (("RSA", 4096, None), None),
    (("RSA", 2047, None), "RSA key of 2047 bits is too small"),
    (("EC", 256, "secp256r1"), None), (("EC", 521, "secp521r1"), None),
    (("EC", 256, "secp256k1"), "EC curve secp256k1 is not supported"),
    (("ML-DSA", None, None), None),
    (("DSA", 2048, None), "key type DSA is not supported"),
    (("unknown", None, None), "key type unknown is not supported"),
])
def test_key_weakness(key: tuple[str, int | None, str | None], expected: str | None) -> None:
    weakness = key_weakness(*key)
    if expected is None:
        assert weakness is None
    else:
        assert weakness is not None and expected in weakness


def test_oid_lookups() -> None:
    assert key_type_for_oid("1.2.840.10045.2.1") == "EC"
    assert key_type_for_oid("9.9.9") == "unknown"
    assert mldsa_variant_for_oid("2.16.840.1.101.3.4.3.19") == "ML-DSA-87"
    assert mldsa_variant_for_oid("1.2.840.10045.2.1") is None
    assert describe_signature_algorithm("9.9.9") == "9.9.9"
    assert REQUEST_ALGORITHM_BY_KEY_TYPE["ML-DSA"] == "AWS4-X509-MLDSA"


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        REQUEST_ALGORITHM_BY_KEY_TYPE["DSA"] = "AWS4-X509-DSA"  # type: ignore[index]


def test_build_name_accepts_short_names_dotted_oids_and_dicts() -> None:
    name = build_name({"cn": "a", "O": "Org", "2.5.4.11": "Eng"})
    assert name_attributes(name) == [("CN", "a"), ("O", "Org"), ("OU", "Eng")]
    with pytest.raises(ValueError, match="unknown name attribute 'XYZ'"):
        build_name([("XYZ", "v")])
