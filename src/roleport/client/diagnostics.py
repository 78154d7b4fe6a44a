"""``sign-string`` and ``read-certificate-data``: the helper's diagnostics, same outputs.

``sign-string`` signs the fixed test string of the official helper::

    "AWS Roles Anywhere Credential Helper Signing Test" + "1" + SHA256("IAM RA" || pubkey)

(``pubkey``: the uncompressed EC point, or the PKCS#1 RSA public key; no digest suffix for
ML-DSA keys), so a signature can be compared with the Go helper's for the same key.

``read-certificate-data`` prints, for a certificate file, the JSON the Go helper prints
(``keyType``, ``certificateData``, ``serialNumber``, ``supportedAlgorithms``); for a
``pkcs11:`` URI, its text list of matching identities.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

from roleport.client.errors import ConfigurationError, SignerError
from roleport.client.signers import Signer
from roleport.crypto.certificates import Certificate

__all__ = ["SIGN_STRING_PREFIX", "certificate_data", "describe_identities",
           "sign_string", "signing_test_string"]

SIGN_STRING_PREFIX = b"AWS Roles Anywhere Credential Helper Signing Test"
FORMATS = ("json", "text", "bin")
DIGESTS = ("SHA256", "SHA384", "SHA512")


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    return tag, start, start + length


def public_key_bytes(certificate: Certificate) -> bytes:
    """The subjectPublicKey bits of the certificate: the EC point, the PKCS#1 RSA key or
    the raw ML-DSA key."""
    pem = certificate.public_key_pem
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    spki = base64.b64decode(body)
    _, start, _ = _der_item(spki, 0)               # SubjectPublicKeyInfo SEQUENCE
    _, _, algorithm_end = _der_item(spki, start)   # AlgorithmIdentifier
    tag, bits_start, bits_end = _der_item(spki, algorithm_end)
    if tag != 0x03:
        raise SignerError("the certificate's public key is not a BIT STRING")
    return spki[bits_start + 1:bits_end]           # skip the unused-bits byte


def signing_test_string(certificate: Certificate) -> bytes:
    """The bytes ``sign-string`` signs for this certificate's key."""
    if certificate.key_type == "ML-DSA":
        return SIGN_STRING_PREFIX + b"1"
    digest = hashlib.sha256(b"IAM RA" + public_key_bytes(certificate)).digest()
    return SIGN_STRING_PREFIX + b"1" + digest


def sign_string(signer: Signer, *, digest: str = "SHA256", output: str = "json") -> bytes:
    """The signature of :func:`signing_test_string`, formatted as ``json`` (a JSON string of the
    hex), ``text`` (hex) or ``bin`` (raw bytes)."""
    if digest.upper() not in DIGESTS:
        raise ConfigurationError(f"--digest must be one of {', '.join(DIGESTS)}")
    if output not in FORMATS:
        raise ConfigurationError(f"--format must be one of {', '.join(FORMATS)}")
    signature = signer.sign(signing_test_string(signer.certificate), digest.lower())
    if output == "bin":
        return signature
    if output == "text":
        return signature.hex().encode()
    return json.dumps(signature.hex()).encode()


def certificate_data(certificate: Certificate) -> dict[str, object]:
    """The Go helper's ``CertificateData`` for one certificate."""
    if certificate.key_type == "ML-DSA":
        variant = certificate.mldsa_variant or "ML-DSA"
        key_type, algorithms = variant, [variant]
    elif certificate.key_type in ("RSA", "EC"):
        key_type = certificate.key_type
        algorithms = [f"{key_type}{h}" for h in DIGESTS]
    else:
        raise SignerError(f"{certificate.key_type} certificates are not supported")
    return {"keyType": key_type, "certificateData": certificate.der_base64,
            "serialNumber": certificate.serial_decimal, "supportedAlgorithms": algorithms}


def describe_identities(identities: Sequence[tuple[Certificate, str | None]]) -> str:
    """The Go helper's text list of matching identities (cert stores, PKCS#11)."""
    lines = ["Matching identities"]
    for index, (cert, uri) in enumerate(identities, start=1):
        lines.append(f"{index}) Hex Fingerprint: {cert.sha1_fingerprint}")
        lines.append(f"\tSubject: {cert.subject_dn}")
        lines.append(f"\tIssuer: {cert.issuer_dn}")
        lines.append(f"\tSerial Number: {cert.serial_hex.upper()}")
        if uri:
            lines.append(f"\tURI: {uri}")
        lines.append("")
    return "\n".join(lines)
