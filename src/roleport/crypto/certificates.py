"""X.509 certificates: parsing once into an immutable value, and the Roles Anywhere rules.

:class:`Certificate` is built by :func:`load_der`, :func:`load_der_base64` or
:func:`load_pem_bundle`. Everything that can fail is read while loading, so a
``Certificate`` that exists has a parsable subject, issuer, validity, key and extensions,
and its properties never raise. Compare and hash certificates by their DER bytes.

The two rule sets of the AWS user guide ("Signature validation"):

* :func:`check_trust_anchor_certificate`: a CA of a trust anchor;
* :func:`check_end_entity_certificate`: the certificate that signs a CreateSession request.

Each raises :class:`~roleport.crypto.errors.CertificateError` naming the rule broken.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from roleport.crypto.algorithms import (
    describe_signature_algorithm,
    key_type_for_oid,
    key_weakness,
    mldsa_variant_for_oid,
    signature_weakness,
)
from roleport.crypto.armor import pem
from roleport.crypto.errors import CertificateError
from roleport.crypto.names import name_attributes

__all__ = [
    "KEY_USAGE_NAMES",
    "Certificate",
    "check_end_entity_certificate",
    "check_trust_anchor_certificate",
    "load_der",
    "load_der_base64",
    "load_pem_bundle",
]

#: the names used in :attr:`Certificate.key_usage`, in RFC 5280 bit order
KEY_USAGE_NAMES = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----(?P<body>.*?)-----END CERTIFICATE-----", re.DOTALL
)
_BASE64_WHITESPACE = re.compile(rb"\s+")


class Certificate:
    """An immutable, parsed X.509 certificate.

    Build one with the ``load_*`` functions. Properties returning lists return a fresh
    list on each call; the certificate itself never changes. Two certificates are equal
    when their DER encodings are.
    """

    __slots__ = (
        "_authority_key_identifier",
        "_crl_distribution_points",
        "_curve",
        "_der",
        "_extended_key_usage",
        "_has_basic_constraints",
        "_is_ca",
        "_issuer_attributes",
        "_issuer_dn",
        "_issuer_name_der",
        "_key_size",
        "_key_type",
        "_key_usage",
        "_mldsa_variant",
        "_not_after",
        "_not_before",
        "_ocsp_urls",
        "_path_length",
        "_san_directory_names",
        "_san_dns",
        "_san_emails",
        "_san_ips",
        "_san_uris",
        "_signature_algorithm_oid",
        "_signature_hash",
        "_subject_attributes",
        "_subject_dn",
        "_subject_key_identifier",
        "_subject_name_der",
        "_version",
        "_x509",
    )

    def __init__(self, certificate: x509.Certificate) -> None:
        """Read every field of ``certificate``; raises CertificateError if one is broken.

        Internal to :mod:`roleport.crypto`: other packages use the ``load_*`` functions.
        """
        try:
            self._read(certificate)
        except CertificateError:
            raise
        except Exception as exc:  # cryptography parses lazily: any field may be malformed
            raise CertificateError("certificate could not be parsed", detail=str(exc)) from exc

    def _read(self, cert: x509.Certificate) -> None:
        self._x509 = cert
        self._der = cert.public_bytes(serialization.Encoding.DER)
        try:
            self._version = 1 if cert.version == x509.Version.v1 else 3
        except x509.InvalidVersion as exc:
            raise CertificateError("certificate has an unsupported version",
                                   detail=str(exc)) from exc
        self._subject_dn = cert.subject.rfc4514_string()
        self._issuer_dn = cert.issuer.rfc4514_string()
        self._subject_attributes = tuple(name_attributes(cert.subject))
        self._issuer_attributes = tuple(name_attributes(cert.issuer))
        self._subject_name_der = cert.subject.public_bytes()
        self._issuer_name_der = cert.issuer.public_bytes()
        self._not_before = cert.not_valid_before_utc
        self._not_after = cert.not_valid_after_utc
        self._read_extensions(cert.extensions)
        self._read_key(cert)
        self._signature_algorithm_oid = cert.signature_algorithm_oid.dotted_string
        try:
            hash_algorithm = cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            hash_algorithm = None
        self._signature_hash = hash_algorithm.name if hash_algorithm is not None else None

    def _read_extensions(self, extensions: x509.Extensions) -> None:
        def get(oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
            try:
                return extensions.get_extension_for_oid(oid).value
            except x509.ExtensionNotFound:
                return None

        basic = get(ExtensionOID.BASIC_CONSTRAINTS)
        assert basic is None or isinstance(basic, x509.BasicConstraints)
        self._has_basic_constraints = basic is not None
        self._is_ca = bool(basic is not None and basic.ca)
        self._path_length = basic.path_length if basic is not None else None

        usage = get(ExtensionOID.KEY_USAGE)
        assert usage is None or isinstance(usage, x509.KeyUsage)
        self._key_usage = None if usage is None else frozenset(_key_usage_names(usage))

        eku = get(ExtensionOID.EXTENDED_KEY_USAGE)
        assert eku is None or isinstance(eku, x509.ExtendedKeyUsage)
        self._extended_key_usage = (
            None if eku is None else tuple(oid.dotted_string for oid in eku)
        )

        san = get(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        assert san is None or isinstance(san, x509.SubjectAlternativeName)
        names: list[x509.GeneralName] = list(san) if san is not None else []
        self._san_dns = tuple(n.value for n in names if isinstance(n, x509.DNSName))
        self._san_uris = tuple(
            n.value for n in names if isinstance(n, x509.UniformResourceIdentifier)
        )
        self._san_emails = tuple(n.value for n in names if isinstance(n, x509.RFC822Name))
        self._san_ips = tuple(str(n.value) for n in names if isinstance(n, x509.IPAddress))
        self._san_directory_names = tuple(
            tuple(name_attributes(n.value)) for n in names if isinstance(n, x509.DirectoryName)
        )

        points = get(ExtensionOID.CRL_DISTRIBUTION_POINTS)
        assert points is None or isinstance(points, x509.CRLDistributionPoints)
        self._crl_distribution_points = tuple(
            name.value
            for point in (points or [])
            for name in (point.full_name or [])
            if isinstance(name, x509.UniformResourceIdentifier)
            and name.value.lower().startswith(("http://", "https://"))
        )

        access = get(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
        assert access is None or isinstance(access, x509.AuthorityInformationAccess)
        self._ocsp_urls = tuple(
            d.access_location.value
            for d in (access or [])
            if d.access_method == x509.AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
            and d.access_location.value.lower().startswith(("http://", "https://"))
        )

        ski = get(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        assert ski is None or isinstance(ski, x509.SubjectKeyIdentifier)
        self._subject_key_identifier = ski.digest if ski is not None else None
        aki = get(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        assert aki is None or isinstance(aki, x509.AuthorityKeyIdentifier)
        self._authority_key_identifier = aki.key_identifier if aki is not None else None

    def _read_key(self, cert: x509.Certificate) -> None:
        oid = cert.public_key_algorithm_oid.dotted_string
        self._key_type = key_type_for_oid(oid)
        self._mldsa_variant = mldsa_variant_for_oid(oid)
        self._key_size: int | None = None
        self._curve: str | None = None
        # DSA keys are refused by key type alone (key_weakness): never loaded, and the
        # deprecated DSA classes never named, so that no deprecation warning is printed
        if self._key_type in ("RSA", "EC"):
            try:
                key = cert.public_key()
            except UnsupportedAlgorithm as exc:  # e.g. an EC curve OpenSSL does not know
                raise CertificateError("certificate public key is not supported",
                                       detail=str(exc)) from exc
            if isinstance(key, rsa.RSAPublicKey):
                self._key_size = key.key_size
            elif isinstance(key, ec.EllipticCurvePublicKey):
                self._key_size = key.curve.key_size
                self._curve = key.curve.name

    # -- identity -------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other._der == self._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"Certificate(subject={self._subject_dn!r}, serial={self.serial_hex})"

    # -- encodings ------------------------------------------------------------------------

    @property
    def der(self) -> bytes:
        """The DER encoding."""
        return self._der

    @property
    def pem(self) -> str:
        """The PEM encoding (``-----BEGIN CERTIFICATE-----``, 64-column lines, final newline)."""
        return pem(self._der, "CERTIFICATE")

    @property
    def der_base64(self) -> str:
        """Standard base64 of the DER, as sent in ``X-Amz-X509``."""
        return base64.b64encode(self._der).decode("ascii")

    @property
    def sha256_fingerprint(self) -> str:
        """Lower-case hex SHA-256 of the DER (AWS Health's ``certificateId``)."""
        return hashlib.sha256(self._der).hexdigest()

    @property
    def sha1_fingerprint(self) -> str:
        """Lower-case hex SHA-1 of the DER (for display next to other tools only)."""
        return hashlib.sha1(self._der, usedforsecurity=False).hexdigest()

    def fingerprint(self, algorithm: str = "sha256", *, separator: str = "") -> str:
        """Hex digest of the DER with ``hashlib`` algorithm ``algorithm``.

        ``separator=":"`` gives the upper-case ``AB:CD:...`` form OpenSSL prints.
        """
        digest = hashlib.new(algorithm, self._der).hexdigest()
        if not separator:
            return digest
        return separator.join(digest[i:i + 2] for i in range(0, len(digest), 2)).upper()

    # -- serial ---------------------------------------------------------------------------

    @property
    def serial(self) -> int:
        """The serial number."""
        return int(self._x509.serial_number)

    @property
    def serial_decimal(self) -> str:
        """Decimal serial, as in the ``Credential=`` of a CreateSession request."""
        return str(self.serial)

    @property
    def serial_hex(self) -> str:
        """Lower-case hex serial left-padded with 0 to even length (291 -> ``"0123"``).

        The form of the default role session name and of the ``ID=`` source identity.
        """
        serial = self.serial
        digits = format(abs(serial), "x")
        if len(digits) % 2:
            digits = "0" + digits
        return ("-" if serial < 0 else "") + digits

    @property
    def serial_der_hex(self) -> str:
        """Upper-case hex of the DER INTEGER content, with a leading ``00`` sign byte when the
        top bit is set (``00936EACBE07F201DF``), as in AWS's EventBridge expiry events."""
        serial = self.serial
        magnitude_bits = (serial if serial >= 0 else ~serial).bit_length()
        length = magnitude_bits // 8 + 1  # room for the sign bit
        return serial.to_bytes(length, "big", signed=True).hex().upper()

    # -- names ----------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """X.509 version: 1 or 3."""
        return self._version

    @property
    def subject_dn(self) -> str:
        """Subject as an RFC 4514 string, as ``cryptography`` renders it (last RDN first)."""
        return self._subject_dn

    @property
    def issuer_dn(self) -> str:
        """Issuer as an RFC 4514 string."""
        return self._issuer_dn

    @property
    def subject_attributes(self) -> list[tuple[str, str]]:
        """Recognised subject attributes as ``(short name, value)`` in certificate order."""
        return list(self._subject_attributes)

    @property
    def issuer_attributes(self) -> list[tuple[str, str]]:
        """Recognised issuer attributes as ``(short name, value)`` in certificate order."""
        return list(self._issuer_attributes)

    @property
    def common_name(self) -> str | None:
        """The first CN of the subject, or ``None``."""
        values = self._x509.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else None

    @property
    def subject_is_empty(self) -> bool:
        """True when the subject has no attributes at all."""
        return len(self._x509.subject) == 0

    @property
    def is_self_issued(self) -> bool:
        """True when subject and issuer are the same name (a root, or a re-keyed CA)."""
        return self._subject_name_der == self._issuer_name_der

    # -- subjectAltName -------------------------------------------------------------------

    @property
    def san_dns(self) -> list[str]:
        """DNS names of the subjectAltName, in certificate order."""
        return list(self._san_dns)

    @property
    def san_uris(self) -> list[str]:
        """URIs of the subjectAltName, in certificate order."""
        return list(self._san_uris)

    @property
    def san_emails(self) -> list[str]:
        """RFC 822 names (e-mail addresses) of the subjectAltName."""
        return list(self._san_emails)

    @property
    def san_ips(self) -> list[str]:
        """IP addresses of the subjectAltName, as strings."""
        return list(self._san_ips)

    @property
    def san_directory_names(self) -> list[list[tuple[str, str]]]:
        """Directory names of the subjectAltName, each as recognised ``(short name, value)``."""
        return [list(name) for name in self._san_directory_names]

    # -- validity -------------------------------------------------------------------------

    @property
    def not_before(self) -> datetime:
        """Start of validity (aware, UTC)."""
        return self._not_before

    @property
    def not_after(self) -> datetime:
        """End of validity (aware, UTC)."""
        return self._not_after

    def validity_problem(self, now: datetime) -> str | None:
        """``"certificate has expired ..."`` / ``"... not yet valid ..."`` or ``None``."""
        if now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        if now > self._not_after:
            return (f"certificate has expired: notAfter {_iso(self._not_after)} "
                    f"is before {_iso(now)}")
        if now < self._not_before:
            return (f"certificate is not yet valid: notBefore {_iso(self._not_before)} "
                    f"is after {_iso(now)}")
        return None

    # -- extensions -----------------------------------------------------------------------

    @property
    def is_ca(self) -> bool:
        """True when basicConstraints says ``CA:true``."""
        return self._is_ca

    @property
    def has_basic_constraints(self) -> bool:
        """True when the basicConstraints extension is present."""
        return self._has_basic_constraints

    @property
    def path_length(self) -> int | None:
        """basicConstraints pathLenConstraint, or ``None`` when absent (unlimited)."""
        return self._path_length

    @property
    def key_usage(self) -> frozenset[str] | None:
        """keyUsage bits set (names from :data:`KEY_USAGE_NAMES`), ``None`` if no extension."""
        return self._key_usage

    @property
    def has_key_usage(self) -> bool:
        """True when the keyUsage extension is present."""
        return self._key_usage is not None

    def allows_key_usage(self, name: str) -> bool:
        """True when keyUsage is present and includes ``name`` (e.g. ``"key_cert_sign"``)."""
        if name not in KEY_USAGE_NAMES:
            raise ValueError(f"unknown key usage {name!r}")
        return self._key_usage is not None and name in self._key_usage

    @property
    def extended_key_usage(self) -> list[str] | None:
        """extendedKeyUsage purpose OIDs (dotted), ``None`` when the extension is absent."""
        return None if self._extended_key_usage is None else list(self._extended_key_usage)

    @property
    def crl_distribution_points(self) -> list[str]:
        """HTTP(S) URIs of the cRLDistributionPoints extension, in certificate order."""
        return list(self._crl_distribution_points)

    @property
    def ocsp_urls(self) -> list[str]:
        """HTTP(S) OCSP responder URIs of the authorityInfoAccess extension, in order."""
        return list(self._ocsp_urls)

    @property
    def subject_key_identifier(self) -> bytes | None:
        """subjectKeyIdentifier, if present."""
        return self._subject_key_identifier

    @property
    def authority_key_identifier(self) -> bytes | None:
        """authorityKeyIdentifier keyIdentifier, if present."""
        return self._authority_key_identifier

    # -- key and signature ----------------------------------------------------------------

    @property
    def key_type(self) -> str:
        """``"RSA"``, ``"EC"``, ``"ML-DSA"``, or another name (``"Ed25519"``, ``"unknown"``)."""
        return self._key_type

    @property
    def key_size(self) -> int | None:
        """RSA modulus bits, or EC curve bits; ``None`` for other key types."""
        return self._key_size

    @property
    def curve(self) -> str | None:
        """EC curve name as cryptography spells it (``"secp256r1"``), else ``None``."""
        return self._curve

    @property
    def mldsa_variant(self) -> str | None:
        """``"ML-DSA-44"``, ``"ML-DSA-65"`` or ``"ML-DSA-87"`` for ML-DSA keys, else ``None``."""
        return self._mldsa_variant

    @property
    def signature_algorithm_oid(self) -> str:
        """Dotted OID of the algorithm the issuer signed this certificate with."""
        return self._signature_algorithm_oid

    @property
    def signature_algorithm(self) -> str:
        """Readable name of that algorithm (``"sha256WithRSAEncryption"``, ``"ML-DSA-65"``)."""
        return describe_signature_algorithm(self._signature_algorithm_oid)

    @property
    def signature_hash(self) -> str | None:
        """Digest of the issuer's signature (``"sha256"``, ``"sha1"``...); ``None`` for
        hash-free algorithms (ML-DSA, EdDSA) and unknown ones."""
        return self._signature_hash

    def is_issued_by(self, issuer: Certificate) -> bool:
        """True when ``issuer``'s subject is this certificate's issuer and its key signed it.

        Checks the name and the signature only, whatever the hash (SHA-1 included);
        the policy checks are elsewhere.
        """
        if self._issuer_name_der != issuer._subject_name_der:
            return False
        cert = self._x509
        try:
            # verify_directly_issued_by() refuses SHA-1; verify with the primitives instead
            _verify_signature(issuer._x509.public_key(), cert.signature,
                              cert.tbs_certificate_bytes, cert.signature_algorithm_parameters,
                              cert.signature_hash_algorithm)
        except (InvalidSignature, TypeError, ValueError, UnsupportedAlgorithm):
            return False
        return True

    @property
    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo as PEM (for display and comparisons)."""
        return self._x509.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def _verify_signature(public_key: object, signature: bytes, data: bytes, parameters: object,
                      hash_algorithm: hashes.HashAlgorithm | None) -> None:
    """Verify an X.509 signature; raises InvalidSignature, TypeError or UnsupportedAlgorithm."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if parameters is None:  # cryptography reports none for legacy MD5/SHA-1 signatures
            parameters = padding.PKCS1v15()
        if not isinstance(parameters, (padding.PKCS1v15, padding.PSS)) or hash_algorithm is None:
            raise TypeError("unexpected RSA signature parameters")
        public_key.verify(signature, data, parameters, hash_algorithm)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if parameters is None and hash_algorithm is not None:  # legacy ecdsa-with-SHA1
            parameters = ec.ECDSA(hash_algorithm)
        if not isinstance(parameters, ec.ECDSA):
            raise TypeError("unexpected ECDSA signature parameters")
        public_key.verify(signature, data, parameters)
    else:  # Ed25519, Ed448, ML-DSA: verify(signature, data); DSA (unsupported) fails here

        verify = getattr(public_key, "verify", None)
        if verify is None:
            raise TypeError(f"cannot verify with {type(public_key).__name__}")
        verify(signature, data)


def _key_usage_names(usage: x509.KeyUsage) -> list[str]:
    names = []
    for name in KEY_USAGE_NAMES:
        try:
            if getattr(usage, name):
                names.append(name)
        except ValueError:  # encipher_only/decipher_only are undefined without key_agreement
            continue
    return names


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- loading ------------------------------------------------------------------------------


def load_der(der: bytes) -> Certificate:
    """Parse one DER certificate.

    Raises CertificateError("certificate could not be parsed"). Certificates are
    immutable and clients present the same ones again and again (each CreateSession sends
    its leaf and chain), so parsed certificates are remembered in a bounded memo; parsing
    failures are not.
    """
    return _load_der_memo(bytes(der))


@functools.lru_cache(maxsize=1024)
def _load_der_memo(der: bytes) -> Certificate:
    try:
        parsed = x509.load_der_x509_certificate(bytes(der))
    except Exception as exc:  # any parsing failure of untrusted bytes
        raise CertificateError("certificate could not be parsed", detail=str(exc)) from exc
    return Certificate(parsed)


def load_der_base64(value: str | bytes, *, lenient: bool = False) -> Certificate:
    """Parse the standard-base64 DER of an ``X-Amz-X509`` header (or one chain item).

    Strict by default (standard alphabet, padding, no whitespace). ``lenient=True`` also
    accepts embedded whitespace and missing padding, as some clients send.
    """
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    if lenient:
        raw = _BASE64_WHITESPACE.sub(b"", raw)
        raw += b"=" * (-len(raw) % 4)
    try:
        der = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CertificateError("certificate is not valid base64", detail=str(exc)) from exc
    if not der:
        raise CertificateError("certificate is empty")
    return load_der(der)


def load_pem_bundle(text: str | bytes) -> list[Certificate]:
    """Every ``CERTIFICATE`` block of a PEM bundle, in order.

    Other PEM blocks and text between blocks are ignored. Raises CertificateError
    ``"no PEM certificate found"``, or ``"certificate 2 could not be parsed"`` (1-based).
    """
    data = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
    certificates = []
    for index, match in enumerate(_PEM_CERTIFICATE.finditer(data), start=1):
        body = _BASE64_WHITESPACE.sub(b"", match.group("body"))
        try:
            der = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CertificateError(f"certificate {index} is not valid base64",
                                   detail=str(exc)) from exc
        try:
            certificates.append(load_der(der))
        except CertificateError as exc:
            reason = exc.message.removeprefix("certificate ")
            raise CertificateError(f"certificate {index} {reason}", detail=exc.detail) from exc
    if not certificates:
        raise CertificateError("no PEM certificate found")
    return certificates


# -- Roles Anywhere rules -----------------------------------------------------------------


def check_trust_anchor_certificate(cert: Certificate) -> None:
    """Check a trust anchor CA certificate against AWS's CA rules.

    X.509 v3; basicConstraints ``CA:true``; keyUsage including keyCertSign; signed with
    SHA-256 or stronger (or a hash-free algorithm such as ML-DSA); a key path validation
    accepts (RSA >= 2048, EC P-256/384/521, ML-DSA). Validity is not checked
    here: the domain decides what an expired anchor means.
    """
    if cert.version != 3:
        raise CertificateError(f"certificate is X.509 version {cert.version}: version 3 required")
    if not cert.is_ca:
        raise CertificateError("certificate is not a CA: basicConstraints CA must be true")
    _require_key_usage(cert, "key_cert_sign", "keyCertSign")
    weakness = signature_weakness(cert.signature_algorithm_oid, cert.signature_hash)
    if weakness is not None:
        raise CertificateError(f"certificate {weakness}")
    # An anchor whose key path validation would refuse (RSA < 2048, Ed25519...) could be
    # created but never used: refuse it up front, saying why.
    weakness = key_weakness(cert.key_type, cert.key_size, cert.curve)
    if weakness is not None:
        raise CertificateError(f"certificate {weakness}")


def check_end_entity_certificate(cert: Certificate, now: datetime, *,
                                 allow_empty_subject: bool = False) -> None:
    """Check a CreateSession signing certificate against AWS's end-entity rules.

    X.509 v3; not a CA; keyUsage present and including digitalSignature; signed with
    SHA-256 or stronger; non-empty subject (unless ``allow_empty_subject``: X.509-SVIDs
    may have none); valid at ``now``; a key Roles Anywhere signs with (RSA >= 2048 bits,
    EC P-256/P-384/P-521, ML-DSA-44/65/87).
    """
    if cert.version != 3:
        raise CertificateError(f"certificate is X.509 version {cert.version}: version 3 required")
    if cert.is_ca:
        raise CertificateError("certificate must not be a CA: basicConstraints CA must be false")
    _require_key_usage(cert, "digital_signature", "digitalSignature")
    weakness = signature_weakness(cert.signature_algorithm_oid, cert.signature_hash)
    if weakness is not None:
        raise CertificateError(f"certificate {weakness}")
    if cert.subject_is_empty and not allow_empty_subject:
        raise CertificateError("certificate subject is empty: a non-empty subject is required")
    problem = cert.validity_problem(now)
    if problem is not None:
        raise CertificateError(problem)
    weakness = key_weakness(cert.key_type, cert.key_size, cert.curve)
    if weakness is not None:
        raise CertificateError(f"certificate {weakness}")


def _require_key_usage(cert: Certificate, name: str, wire_name: str) -> None:
    if not cert.has_key_usage:
        raise CertificateError(
            f"certificate has no keyUsage extension: keyUsage must include {wire_name}"
        )
    if not cert.allows_key_usage(name):
        raise CertificateError(f"certificate keyUsage must include {wire_name}")

