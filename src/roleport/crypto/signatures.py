"""Verify the signature of a CreateSession request (the X.509 variant of SigV4).

The auth layer builds the string to sign; this module checks that the signing
certificate's key signed it with the declared algorithm:

==========================  ========  ==============================================
``Algorithm``               key       signature over the string to sign
==========================  ========  ==============================================
``AWS4-X509-RSA-SHA256``    RSA       PKCS#1 v1.5, SHA-256
``AWS4-X509-ECDSA-SHA256``  EC        ECDSA, SHA-256 (every curve), DER ``SEQUENCE{r,s}``
``AWS4-X509-MLDSA``         ML-DSA    ML-DSA over the raw bytes, empty context
==========================  ========  ==============================================

The algorithm must fit the key type. Real clients deviate, so by default
(``lenient=True``) the verifier also accepts, and reports in the returned set:

* ``"rsa-pss"``: RSA-PSS with SHA-256 and MGF1-SHA-256, any salt length (``iamra``);
* ``"algorithm-label"``: ``AWS4-X509-{RSA,ECDSA}-SHA384|SHA512`` labels
  (``iam-rolesanywhere-session`` names the hash its CA used) over a SHA-256 signature;
* ``"labelled-hash"``: such a label over a signature that really uses that hash;
* ``"ecdsa-raw"``: fixed-width ``r||s`` ECDSA signatures instead of DER (WebCrypto).

``lenient=False`` refuses each of them, and its error says which leniency would have
verified the request, so operators can tell a broken client from a forged signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from roleport.crypto.algorithms import REQUEST_ALGORITHMS
from roleport.crypto.certificates import Certificate
from roleport.crypto.errors import SignatureError

__all__ = [
    "LENIENCIES",
    "SUPPORTED_ALGORITHMS",
    "parse_algorithm",
    "verify_request_signature",
]

#: every leniency name :func:`verify_request_signature` may report
LENIENCIES = frozenset({"rsa-pss", "algorithm-label", "labelled-hash", "ecdsa-raw"})
#: the documented CreateSession algorithms
SUPPORTED_ALGORITHMS = frozenset(REQUEST_ALGORITHMS)

_LABELLED = re.compile(r"^AWS4-X509-(?P<family>RSA|ECDSA)-(?P<hash>SHA384|SHA512)$")
_FAMILY_KEY_TYPE = MappingProxyType({"RSA": "RSA", "ECDSA": "EC"})
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_LABEL_HASHES: MappingProxyType[str, type[hashes.HashAlgorithm]] = MappingProxyType({
    "SHA384": hashes.SHA384, "SHA512": hashes.SHA512,
})

#: one way of verifying: (leniencies it stands for, callable raising InvalidSignature)
_Attempt = tuple[frozenset[str], Callable[[], None]]


def parse_algorithm(algorithm: str, *, lenient: bool = True) -> tuple[str, frozenset[str]]:
    """(key type the algorithm needs, leniencies its name uses); SignatureError if unknown.

    >>> parse_algorithm("AWS4-X509-ECDSA-SHA384")
    ('EC', frozenset({'algorithm-label'}))
    """
    if algorithm in REQUEST_ALGORITHMS:
        return REQUEST_ALGORITHMS[algorithm], frozenset()
    match = _LABELLED.match(algorithm)
    if match is None:
        raise SignatureError(
            f"unsupported signing algorithm {algorithm!r}: use "
            + ", ".join(sorted(REQUEST_ALGORITHMS))
        )
    if not lenient:
        raise SignatureError(
            f"signing algorithm {algorithm!r} is not a documented name "
            f"(strict mode accepts only {', '.join(sorted(REQUEST_ALGORITHMS))})"
        )
    return _FAMILY_KEY_TYPE[match["family"]], frozenset({"algorithm-label"})


def verify_request_signature(cert: Certificate, algorithm: str, string_to_sign: bytes,
                             signature_hex: str, *, lenient: bool = True) -> set[str]:
    """Check ``signature_hex`` over ``string_to_sign`` with ``cert``'s public key.

    Returns the leniencies used (empty for a standard request). Raises SignatureError
    for a malformed signature, an unknown algorithm, an algorithm that does not fit the
    key type, or a signature that does not verify.
    """
    signature = _decode_hex(signature_hex)
    key_type, name_leniencies = parse_algorithm(algorithm, lenient=lenient)
    if key_type != cert.key_type:
        raise SignatureError(
            f"signing algorithm {algorithm} does not fit the certificate's "
            f"{cert.key_type} key"
        )
    try:
        public_key = cert._x509.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise SignatureError("cannot verify with the certificate's key",
                             detail=str(exc)) from exc

    label = _LABELLED.match(algorithm)
    labelled_hash = _LABEL_HASHES[label["hash"]]() if label else None
    attempts = _attempts(public_key, key_type, signature, bytes(string_to_sign), labelled_hash)
    verified_by: frozenset[str] | None = None
    for leniencies, attempt in attempts:
        try:
            attempt()
        except (InvalidSignature, ValueError, TypeError):
            continue
        verified_by = leniencies
        break
    if verified_by is None:
        raise SignatureError(f"signature does not verify ({_describe(algorithm, key_type)})")
    used = set(name_leniencies | verified_by)
    if not lenient and used:
        raise SignatureError(
            f"signature verifies only as {', '.join(sorted(used))}, "
            "which strict mode refuses"
        )
    return used


def _decode_hex(signature_hex: str) -> bytes:
    text = signature_hex.strip()
    if not _HEX.match(text):
        raise SignatureError("signature is not an even-length hexadecimal string")
    return bytes.fromhex(text)


def _attempts(public_key: Any, key_type: str, signature: bytes, data: bytes,
              labelled_hash: hashes.HashAlgorithm | None) -> list[_Attempt]:
    """Ways to verify, the standard one first, then each leniency."""
    none: frozenset[str] = frozenset()
    if key_type == "RSA" and isinstance(public_key, rsa.RSAPublicKey):
        key = public_key

        def pkcs1(algorithm: hashes.HashAlgorithm) -> Callable[[], None]:
            return lambda: key.verify(signature, data, padding.PKCS1v15(), algorithm)

        def pss(algorithm: hashes.HashAlgorithm) -> Callable[[], None]:
            # AUTO verifies whatever salt length the signer chose (MAX_LENGTH, DIGEST_LENGTH...)
            scheme = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.AUTO)
            return lambda: key.verify(signature, data, scheme, algorithm)

        attempts: list[_Attempt] = [(none, pkcs1(hashes.SHA256())),
                                    (frozenset({"rsa-pss"}), pss(hashes.SHA256()))]
        if labelled_hash is not None:
            attempts += [(frozenset({"labelled-hash"}), pkcs1(labelled_hash)),
                         (frozenset({"labelled-hash", "rsa-pss"}), pss(labelled_hash))]
        return attempts
    if key_type == "EC" and isinstance(public_key, ec.EllipticCurvePublicKey):
        ec_key = public_key
        raw = _raw_to_der(signature, ec_key.curve.key_size)

        def ecdsa(sig: bytes | None, algorithm: hashes.HashAlgorithm) -> Callable[[], None]:
            def check() -> None:
                if sig is None:
                    raise InvalidSignature("not a raw r||s signature of this curve's width")
                ec_key.verify(sig, data, ec.ECDSA(algorithm))
            return check

        attempts = [(none, ecdsa(signature, hashes.SHA256())),
                    (frozenset({"ecdsa-raw"}), ecdsa(raw, hashes.SHA256()))]
        if labelled_hash is not None:
            attempts += [(frozenset({"labelled-hash"}), ecdsa(signature, labelled_hash)),
                         (frozenset({"labelled-hash", "ecdsa-raw"}), ecdsa(raw, labelled_hash))]
        return attempts
    if key_type == "ML-DSA":
        verify = public_key.verify
        return [(none, lambda: verify(signature, data))]
    raise SignatureError(f"cannot verify signatures of {key_type} keys")


def _raw_to_der(signature: bytes, curve_bits: int) -> bytes | None:
    """DER form of a fixed-width ``r||s`` signature, or None if the length does not fit."""
    width = (curve_bits + 7) // 8
    if len(signature) != 2 * width:
        return None
    r = int.from_bytes(signature[:width], "big")
    s = int.from_bytes(signature[width:], "big")
    return bytes(utils.encode_dss_signature(r, s))


def _describe(algorithm: str, key_type: str) -> str:
    if key_type == "RSA":
        return f"{algorithm}: RSA PKCS#1 v1.5 with SHA-256"
    if key_type == "EC":
        return f"{algorithm}: ECDSA with SHA-256"
    return f"{algorithm}: ML-DSA"
