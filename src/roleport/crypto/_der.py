"""Just enough DER to re-sign a certificate the way ``cryptography`` will not.

``cryptography`` refuses to *issue* certificates signed with MD5 or SHA-1, and always
issues X.509 v3. Roleport's tests need both kinds, to prove they are refused. This
private module takes a certificate ``cryptography`` built, rewrites its TBSCertificate
(signature algorithm; optionally version 1 without extensions), signs the new TBS with
the issuer key through the low-level primitives (which still allow SHA-1), and
assembles the DER. Used by :mod:`roleport.crypto.devpki` only; never on a request path.
"""

from __future__ import annotations

from types import MappingProxyType

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from roleport.crypto.errors import CertificateError

__all__ = ["resign_certificate"]

_SEQUENCE = 0x30
_BIT_STRING = 0x03
_OID = 0x06
_NULL = b"\x05\x00"
_VERSION_TAG = 0xA0  # [0] EXPLICIT Version
_EXTENSIONS_TAG = 0xA3  # [3] EXPLICIT Extensions

_RSA_OIDS = MappingProxyType({
    "md5": "1.2.840.113549.1.1.4", "sha1": "1.2.840.113549.1.1.5",
    "sha224": "1.2.840.113549.1.1.14", "sha256": "1.2.840.113549.1.1.11",
    "sha384": "1.2.840.113549.1.1.12", "sha512": "1.2.840.113549.1.1.13",
})
_ECDSA_OIDS = MappingProxyType({
    "sha1": "1.2.840.10045.4.1", "sha224": "1.2.840.10045.4.3.1",
    "sha256": "1.2.840.10045.4.3.2", "sha384": "1.2.840.10045.4.3.3",
    "sha512": "1.2.840.10045.4.3.4",
})
_HASHES: MappingProxyType[str, type[hashes.HashAlgorithm]] = MappingProxyType({
    "md5": hashes.MD5, "sha1": hashes.SHA1, "sha224": hashes.SHA224,
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
})


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _children(der: bytes) -> list[bytes]:
    """The raw TLVs inside the outer constructed element of ``der``."""
    _, start, end = _header(der, 0)
    items, pos = [], start
    while pos < end:
        _, _, content_end = _header(der, pos)
        items.append(der[pos:content_end])
        pos = content_end
    return items


def _header(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos`` (single-byte tags only)."""
    tag, first = der[pos], der[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    count = first & 0x7F
    length = int.from_bytes(der[pos + 2:pos + 2 + count], "big")
    start = pos + 2 + count
    return tag, start, start + length


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    values = [parts[0] * 40 + parts[1], *parts[2:]]
    body = bytearray()
    for value in values:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body.extend(reversed(chunk))
    return _tlv(_OID, bytes(body))


def _algorithm(private_key: object, hash_name: str | None) -> tuple[bytes, object]:
    """(AlgorithmIdentifier DER, a callable signing TBS bytes) for the issuer key."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        if hash_name is None or hash_name not in _RSA_OIDS:
            raise CertificateError(f"cannot sign with RSA and hash {hash_name}")
        algorithm = _HASHES[hash_name]()
        return (_tlv(_SEQUENCE, _oid(_RSA_OIDS[hash_name]) + _NULL),
                lambda tbs: private_key.sign(tbs, padding.PKCS1v15(), algorithm))
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if hash_name is None or hash_name not in _ECDSA_OIDS:
            raise CertificateError(f"cannot sign with ECDSA and hash {hash_name}")
        algorithm = _HASHES[hash_name]()
        return (_tlv(_SEQUENCE, _oid(_ECDSA_OIDS[hash_name])),
                lambda tbs: private_key.sign(tbs, ec.ECDSA(algorithm)))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return _tlv(_SEQUENCE, _oid("1.3.101.112")), private_key.sign
    variant = getattr(type(private_key), "__name__", "")
    for level, dotted in (("44", "2.16.840.1.101.3.4.3.17"), ("65", "2.16.840.1.101.3.4.3.18"),
                          ("87", "2.16.840.1.101.3.4.3.19")):
        if variant.upper() == f"MLDSA{level}PRIVATEKEY":
            return _tlv(_SEQUENCE, _oid(dotted)), private_key.sign  # type: ignore[attr-defined]
    raise CertificateError(f"cannot re-sign with a {variant} issuer key")


def resign_certificate(tbs_der: bytes, issuer_key: object, hash_name: str | None, *,
                       version: int = 3) -> bytes:
    """A certificate with ``tbs_der``'s content, signed by ``issuer_key`` with ``hash_name``.

    ``version=1`` drops the version field and the extensions, making an X.509 v1
    certificate. Any hash the low-level primitives accept works, MD5 and SHA-1 included.
    """
    algorithm_id, sign = _algorithm(issuer_key, hash_name)
    fields = _children(tbs_der)
    has_version = fields[0][0] == _VERSION_TAG
    fields[2 if has_version else 1] = algorithm_id
    if version == 1:
        fields = [f for f in fields if f[0] not in (_VERSION_TAG, _EXTENSIONS_TAG)]
    elif version != 3:
        raise CertificateError(f"cannot make an X.509 version {version} certificate")
    tbs = _tlv(_SEQUENCE, b"".join(fields))
    signature = sign(tbs)  # type: ignore[operator]
    return _tlv(_SEQUENCE, tbs + algorithm_id + _tlv(_BIT_STRING, b"\x00" + signature))
