"""The algorithm facts Roles Anywhere cares about, in one place.

* which public-key algorithm an OID names, and which keys are strong enough for a
  signing certificate (RSA >= 2048 bits; EC P-256, P-384, P-521; ML-DSA-44/65/87);
* which certificate / CRL signature algorithms are acceptable ("SHA-256 or stronger;
  MD5 and SHA-1 are rejected"; hash-free ML-DSA and EdDSA signatures are fine);
* the CreateSession request-signing algorithm names and the key type each one needs.

Everything is keyed by dotted OID strings, so this module works on every
``cryptography`` release the project supports, including ones without ML-DSA.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "ACCEPTED_EC_CURVES",
    "MIN_RSA_BITS",
    "REQUEST_ALGORITHMS",
    "REQUEST_ALGORITHM_BY_KEY_TYPE",
    "describe_signature_algorithm",
    "key_type_for_oid",
    "key_weakness",
    "mldsa_variant_for_oid",
    "signature_weakness",
]

#: public-key algorithm OID -> key type as reported by ``Certificate.key_type``
_KEY_TYPES = MappingProxyType({
    "1.2.840.113549.1.1.1": "RSA",
    "1.2.840.113549.1.1.10": "RSA-PSS",
    "1.2.840.10045.2.1": "EC",
    "1.2.840.10040.4.1": "DSA",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "2.16.840.1.101.3.4.3.17": "ML-DSA",
    "2.16.840.1.101.3.4.3.18": "ML-DSA",
    "2.16.840.1.101.3.4.3.19": "ML-DSA",
})

#: ML-DSA OIDs (the same OID names the key and the signature algorithm)
_MLDSA_VARIANTS = MappingProxyType({
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
})

#: signature algorithms that hash internally (no separate digest): acceptable
_HASH_FREE_SIGNATURES = frozenset({*_MLDSA_VARIANTS, "1.3.101.112", "1.3.101.113"})

#: digests that count as "SHA-256 or stronger"
_STRONG_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"})

#: readable names for messages; other OIDs are shown dotted
_SIGNATURE_NAMES = MappingProxyType({
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsa-with-SHA1",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    **_MLDSA_VARIANTS,
})

MIN_RSA_BITS = 2048
#: EC curves accepted for signing certificates (cryptography's names)
ACCEPTED_EC_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})

#: CreateSession ``Algorithm`` -> key type it requires (documented names only)
REQUEST_ALGORITHMS = MappingProxyType({
    "AWS4-X509-RSA-SHA256": "RSA",
    "AWS4-X509-ECDSA-SHA256": "EC",
    "AWS4-X509-MLDSA": "ML-DSA",
})
#: key type -> the algorithm name a client declares for it
REQUEST_ALGORITHM_BY_KEY_TYPE = MappingProxyType({v: k for k, v in REQUEST_ALGORITHMS.items()})


def key_type_for_oid(dotted: str) -> str:
    """Key type name for a SubjectPublicKeyInfo algorithm OID (``"unknown"`` if new)."""
    return _KEY_TYPES.get(dotted, "unknown")


def mldsa_variant_for_oid(dotted: str) -> str | None:
    """``"ML-DSA-44"``/``-65``/``-87`` for an ML-DSA OID, else ``None``."""
    return _MLDSA_VARIANTS.get(dotted)


def describe_signature_algorithm(dotted: str) -> str:
    """A readable name for a signature algorithm OID (the dotted OID when unknown)."""
    return _SIGNATURE_NAMES.get(dotted, dotted)


def signature_weakness(signature_oid: str, hash_name: str | None) -> str | None:
    """Why a certificate or CRL signature algorithm is refused, or ``None`` if fine.

    ``hash_name`` is the digest cryptography reports (``"sha1"``...), ``None`` when the
    algorithm has no separate digest or is unknown.
    """
    if signature_oid in _HASH_FREE_SIGNATURES:
        return None
    name = describe_signature_algorithm(signature_oid)
    if hash_name is None:
        return f"signature algorithm {name} is not supported"
    if hash_name not in _STRONG_HASHES:
        return (f"signature algorithm {name} uses {hash_name.upper()}: "
                "SHA-256 or stronger is required")
    return None


def key_weakness(key_type: str, key_size: int | None, curve: str | None) -> str | None:
    """Why a signing certificate's key is refused, or ``None`` if it is acceptable."""
    if key_type == "RSA":
        if key_size is None or key_size < MIN_RSA_BITS:
            return f"RSA key of {key_size} bits is too small: at least {MIN_RSA_BITS} required"
        return None
    if key_type == "EC":
        if curve not in ACCEPTED_EC_CURVES:
            return f"EC curve {curve} is not supported: use P-256, P-384 or P-521"
        return None
    if key_type == "ML-DSA":
        return None
    return f"key type {key_type} is not supported: use RSA, EC or ML-DSA"
