"""A development PKI: CAs, client and server certificates, and CRLs, good or bad on purpose.

Used by the tests, the ``roleport pki`` CLI and the server's self-generated TLS
certificate. Every function takes keyword options and returns an
:class:`IssuedCertificate` (certificate + private key + the chain above it) or a
:class:`~roleport.crypto.crls.Crl`::

    root = create_root_ca()                                   # EC P-256, 10 years
    inter = create_intermediate_ca(root)
    client = issue_leaf(inter, cn="alice", sans=["DNS:alice.example", "URI:spiffe://x/a"])
    crl = create_crl(inter, revoked=[(client.certificate.serial, None)])

It also makes every *bad* certificate the checks must refuse: expired (``not_after`` in
the past), not yet valid, a CA as leaf (``is_ca=True``), no digitalSignature
(``key_usage={"key_encipherment"}``), no keyUsage (``key_usage=None``), SHA-1 or MD5
signed (``hash="sha1"``), X.509 v1 (``version=1``), RSA-1024 (``key_type="rsa",
key_size=1024``), CN-only (the default), SAN-only (``cn=None, sans=[...]``), AKI-less
(``omit_aki=True``), and long chains (:func:`create_intermediate_chain`).

``cryptography`` refuses to sign certificates with MD5 or SHA-1 and only writes v3;
for those, the certificate is built normally and re-signed by :mod:`._der`.

Options a caller gets wrong raise :class:`~roleport.crypto.errors.CertificateError`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from roleport.crypto import _der
from roleport.crypto.certificates import (
    KEY_USAGE_NAMES,
    Certificate,
    load_der,
    load_pem_bundle,
)
from roleport.crypto.crls import Crl
from roleport.crypto.errors import CertificateError, CrlError, CryptoError, KeyLoadError
from roleport.crypto.keys import (
    PrivateKey,
    check_key_matches,
    generate_private_key,
    load_private_key,
)
from roleport.crypto.names import build_name

__all__ = [
    "CA_KEY_USAGE",
    "LEAF_KEY_USAGE",
    "IssuedCertificate",
    "SavedFiles",
    "Subject",
    "create_crl",
    "create_intermediate_ca",
    "create_intermediate_chain",
    "create_root_ca",
    "generate_private_key",
    "issue_leaf",
    "issue_server_certificate",
    "load_ca",
    "load_issued",
    "save",
]

CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign", "digital_signature"})
LEAF_KEY_USAGE = frozenset({"digital_signature"})
#: margin for clocks that run a little behind: certificates start this long before "now"
BACKDATE = timedelta(minutes=5)

_DEFAULT = object()  # "option not given" (None means "omit the extension")
_Usage = Collection[str] | None
#: a subject: RFC 4514 text, a dict, or (short name, value) pairs in certificate order
Subject = str | dict[str, str] | Iterable[tuple[str, str]]
_HASHES: MappingProxyType[str, Any] = MappingProxyType({
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
    "sha3-256": hashes.SHA3_256, "sha3-384": hashes.SHA3_384, "sha3-512": hashes.SHA3_512,
})
#: hashes cryptography will not sign certificates with: re-signed through _der
_LEGACY_HASHES = frozenset({"sha1", "md5", "sha224"})
_EKU = MappingProxyType({
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
})


@dataclass(frozen=True, eq=False)
class IssuedCertificate:
    """A certificate, its private key, and the certificates above it (issuer first, root last)."""

    certificate: Certificate
    key: PrivateKey
    chain: tuple[Certificate, ...] = ()

    @property
    def cert(self) -> Certificate:
        """Short alias of :attr:`certificate`."""
        return self.certificate

    @property
    def cert_pem(self) -> str:
        """The certificate alone, PEM."""
        return self.certificate.pem

    @property
    def key_pem(self) -> str:
        """The private key, unencrypted PKCS#8 PEM."""
        return self.key.to_pem()

    @property
    def chain_pem(self) -> str:
        """The certificates above this one, PEM, issuer first (empty for a root)."""
        return "".join(c.pem for c in self.chain)

    @property
    def intermediates(self) -> list[Certificate]:
        """The chain without its self-issued root: what a client sends in X-Amz-X509-Chain."""
        return [c for c in self.chain if not c.is_self_issued]

    @property
    def fullchain_pem(self) -> str:
        """Certificate then chain, PEM (the usual ``fullchain.pem``)."""
        return self.cert_pem + self.chain_pem

    @property
    def root(self) -> Certificate:
        """The top of the chain (this certificate itself for a root)."""
        return self.chain[-1] if self.chain else self.certificate

    def pkcs12(self, password: str | bytes | None = None, *, name: str = "roleport") -> bytes:
        """Key, certificate and intermediates as a PKCS#12 bundle (not for ML-DSA keys)."""
        return self.key.to_pkcs12(self.certificate, self.intermediates, password=password,
                                  name=name)


# -- certificates -------------------------------------------------------------------------


def create_root_ca(cn: str | None = "Roleport Dev Root CA", *, key_type: str = "ec",
                   key: PrivateKey | None = None, curve: str = "secp256r1",
                   key_size: int = 2048, mldsa_variant: str = "ML-DSA-65", days: int = 3650,
                   hash: str = "sha256", **options: object) -> IssuedCertificate:
    """A self-signed root CA (basicConstraints CA critical, keyCertSign + cRLSign).

    ``options`` are those of :func:`issue_leaf` (subject, path_length, key_usage,
    not_before/not_after, serial, omit_aki/omit_ski, version...).
    """
    key = key or generate_private_key(key_type, curve=curve, key_size=key_size,
                                      mldsa_variant=mldsa_variant)
    options.setdefault("is_ca", True)
    options.setdefault("key_usage", CA_KEY_USAGE)
    options.setdefault("extended_key_usage", None)
    return _issue(None, key, cn=cn, days=days, hash=hash, **options)  # type: ignore[arg-type]


def create_intermediate_ca(issuer: IssuedCertificate,
                           cn: str | None = "Roleport Dev Intermediate CA", *,
                           key_type: str = "ec", key: PrivateKey | None = None,
                           curve: str = "secp256r1", key_size: int = 2048,
                           mldsa_variant: str = "ML-DSA-65", days: int = 1825,
                           hash: str = "sha256", **options: object) -> IssuedCertificate:
    """A CA signed by ``issuer``; ``options`` as for :func:`issue_leaf`."""
    key = key or generate_private_key(key_type, curve=curve, key_size=key_size,
                                      mldsa_variant=mldsa_variant)
    options.setdefault("is_ca", True)
    options.setdefault("key_usage", CA_KEY_USAGE)
    options.setdefault("extended_key_usage", None)
    return _issue(issuer, key, cn=cn, days=days, hash=hash, **options)  # type: ignore[arg-type]


def create_intermediate_chain(issuer: IssuedCertificate, count: int,
                              **options: object) -> list[IssuedCertificate]:
    """``count`` CAs, each signed by the one before, the first by ``issuer``.

    Named ``Roleport Dev Intermediate CA 1..count``; the last one issues the leaf of a
    path with ``count`` intermediates.
    """
    chain: list[IssuedCertificate] = []
    parent = issuer
    for index in range(1, count + 1):
        parent = create_intermediate_ca(parent, f"Roleport Dev Intermediate CA {index}",
                                        **options)  # type: ignore[arg-type]
        chain.append(parent)
    return chain


def issue_leaf(issuer: IssuedCertificate, cn: str | None = "roleport-dev-client", *,
               sans: Iterable[str | tuple[str, str]] = (), subject: Subject | None = None,
               key_type: str = "ec", key: PrivateKey | None = None,
               curve: str = "secp256r1", key_size: int = 2048,
               mldsa_variant: str = "ML-DSA-65", days: int = 365,
               not_before: datetime | None = None, not_after: datetime | None = None,
               now: datetime | None = None, hash: str = "sha256",
               key_usage: object = _DEFAULT, extended_key_usage: object = _DEFAULT,
               is_ca: bool = False, path_length: int | None = None,
               basic_constraints: bool = True, omit_aki: bool = False, omit_ski: bool = False,
               crl_distribution_points: Sequence[str] = (), serial: int | None = None,
               version: int = 3, ocsp_urls: Sequence[str] = ()) -> IssuedCertificate:
    """An end-entity certificate signed by ``issuer``.

    * ``cn`` / ``subject``: ``subject`` (dict, or list of ``(short name, value)``) wins;
      else ``[("CN", cn)]``; ``cn=None`` without subject gives an empty subject.
    * ``sans``: ``"DNS:x"``, ``"URI:x"``, ``"email:x"``, ``"IP:x"``, ``"dirName:CN=x,O=y"``
      (RFC 4514), or ``(type, value)`` tuples.
    * ``key_usage``: names from ``KEY_USAGE_NAMES`` (default digital_signature);
      ``None`` omits the extension. ``extended_key_usage``: default ``["client_auth"]``;
      ``None`` omits it.
    * validity: ``not_before`` (default now - 5 min) and ``not_after`` (default now +
      ``days``); ``now`` pins "now" for reproducible tests.
    * ``hash``: ``sha256`` (default), ``sha384``, ``sha512``, or ``sha1``/``md5``/``sha224``
      (legacy, refused by Roles Anywhere); ignored for ML-DSA and Ed25519 issuers.
    * ``is_ca``, ``path_length``, ``basic_constraints=False`` (omit), ``omit_aki``,
      ``omit_ski``, ``crl_distribution_points`` (URLs), ``serial``, ``version`` (1 or 3),
      ``ocsp_urls`` (authorityInfoAccess OCSP responders).
    """
    key = key or generate_private_key(key_type, curve=curve, key_size=key_size,
                                      mldsa_variant=mldsa_variant)
    return _issue(
        issuer, key, cn=cn, sans=sans, subject=subject, days=days, not_before=not_before,
        not_after=not_after, now=now, hash=hash,
        key_usage=LEAF_KEY_USAGE if key_usage is _DEFAULT else cast(_Usage, key_usage),
        extended_key_usage=["client_auth"] if extended_key_usage is _DEFAULT
        else cast(_Usage, extended_key_usage),
        is_ca=is_ca, path_length=path_length, basic_constraints=basic_constraints,
        omit_aki=omit_aki, omit_ski=omit_ski,
        crl_distribution_points=crl_distribution_points, serial=serial, version=version,
        ocsp_urls=ocsp_urls,
    )


def issue_server_certificate(issuer: IssuedCertificate, *,
                             hostnames: Sequence[str] = ("localhost",),
                             ips: Sequence[str] = ("127.0.0.1", "::1"), days: int = 365,
                             key_type: str = "ec", key: PrivateKey | None = None,
                             **options: object) -> IssuedCertificate:
    """A TLS server certificate for ``hostnames`` and ``ips`` (serverAuth, SAN, AKI/SKI)."""
    key = key or generate_private_key(key_type)
    usage = {"digital_signature", "key_encipherment"} if key.key_type == "RSA" else \
        {"digital_signature"}
    options.setdefault("key_usage", usage)
    options.setdefault("extended_key_usage", ["server_auth"])
    sans = [("DNS", h) for h in hostnames] + [("IP", ip) for ip in ips]
    cn = hostnames[0] if hostnames else (ips[0] if ips else "roleport")
    return issue_leaf(issuer, cn, sans=sans, days=days, key=key, **options)  # type: ignore[arg-type]


def _issue(issuer: IssuedCertificate | None, key: PrivateKey, *, cn: str | None,
           sans: Iterable[str | tuple[str, str]] = (), subject: Subject | None = None,
           days: int,
           not_before: datetime | None = None, not_after: datetime | None = None,
           now: datetime | None = None, hash: str = "sha256",
           key_usage: Collection[str] | None = LEAF_KEY_USAGE,
           extended_key_usage: Collection[str] | None = None, is_ca: bool = False,
           path_length: int | None = None, basic_constraints: bool = True,
           omit_aki: bool = False, omit_ski: bool = False,
           crl_distribution_points: Sequence[str] = (), serial: int | None = None,
           version: int = 3, ocsp_urls: Sequence[str] = ()) -> IssuedCertificate:
    """Build, sign and wrap one certificate (``issuer=None``: self-signed)."""
    try:
        moment = now or datetime.now(UTC)
        start = not_before or moment - BACKDATE
        end = not_after or moment + timedelta(days=days)
        name = _subject(cn, subject)
        signer_key = issuer.key if issuer is not None else key
        issuer_name = issuer.certificate._x509.subject if issuer is not None else name
        public_key = key._key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(public_key)
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
        )
        if basic_constraints:
            builder = builder.add_extension(
                x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None),
                critical=True,
            )
        if key_usage is not None:
            builder = builder.add_extension(_key_usage(key_usage), critical=True)
        if extended_key_usage is not None:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([_eku(purpose) for purpose in extended_key_usage]),
                critical=False,
            )
        general_names = [_general_name(san) for san in sans]
        if general_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(general_names), critical=len(name) == 0
            )
        if not omit_ski:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
            )
        if not omit_aki:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key._key.public_key()),
                critical=False,
            )
        if crl_distribution_points:
            builder = builder.add_extension(x509.CRLDistributionPoints([
                x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
                for url in crl_distribution_points
            ]), critical=False)
        if ocsp_urls:
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(url))
                for url in ocsp_urls
            ]), critical=False)
        certificate = _sign(builder, signer_key, hash, version)
    except CryptoError:
        raise
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"cannot issue certificate: {exc}") from exc
    chain = () if issuer is None else (issuer.certificate, *issuer.chain)
    return IssuedCertificate(certificate, key, chain)


def _sign(builder: x509.CertificateBuilder, signer: PrivateKey, hash_name: str,
          version: int) -> Certificate:
    hash_free = signer.key_type in ("ML-DSA", "Ed25519")
    legacy = not hash_free and hash_name in _LEGACY_HASHES
    if not hash_free and not legacy and hash_name not in _HASHES:
        raise CertificateError(f"unknown hash {hash_name!r}")
    algorithm = None if hash_free else _HASHES["sha256" if legacy else hash_name]()
    built = builder.sign(signer._key, algorithm)
    if not legacy and version == 3:
        return Certificate(built)
    der = _der.resign_certificate(
        built.tbs_certificate_bytes, signer._key, None if hash_free else hash_name,
        version=version,
    )
    return load_der(der)


def _subject(cn: str | None, subject: Subject | None) -> x509.Name:
    if subject is not None:
        if isinstance(subject, str):
            return x509.Name.from_rfc4514_string(subject)
        return build_name(subject)
    return build_name([("CN", cn)] if cn else [])


def _key_usage(names: Collection[str]) -> x509.KeyUsage:
    unknown = set(names) - set(KEY_USAGE_NAMES)
    if unknown:
        raise CertificateError(f"unknown key usage {sorted(unknown)}: use {KEY_USAGE_NAMES}")
    flags = {name: name in names for name in KEY_USAGE_NAMES}
    return x509.KeyUsage(**flags)


def _eku(purpose: str) -> x509.ObjectIdentifier:
    if purpose in _EKU:
        return _EKU[purpose]
    if all(part.isdigit() for part in purpose.split(".")):
        return x509.ObjectIdentifier(purpose)
    raise CertificateError(f"unknown extended key usage {purpose!r}: use {sorted(_EKU)}")


def _general_name(san: str | tuple[str, str]) -> x509.GeneralName:
    if isinstance(san, tuple):
        kind, value = san
    else:
        kind, sep, value = san.partition(":")
        if not sep:
            raise CertificateError(f"subjectAltName {san!r} needs a type prefix such as DNS:")
    kind = kind.strip().lower()
    if kind == "dns":
        return x509.DNSName(value)
    if kind == "uri":
        return x509.UniformResourceIdentifier(value)
    if kind in ("email", "rfc822"):
        return x509.RFC822Name(value)
    if kind == "ip":
        return x509.IPAddress(ipaddress.ip_address(value))
    if kind in ("dirname", "dn"):
        return x509.DirectoryName(x509.Name.from_rfc4514_string(value))
    raise CertificateError(
        f"unknown subjectAltName type {kind!r}: use DNS, URI, email, IP or dirName"
    )


# -- CRLs ---------------------------------------------------------------------------------


def create_crl(issuer: IssuedCertificate,
               revoked: Iterable[int | tuple[int, datetime | None]] = (), *,
               last_update: datetime | None = None, next_update: datetime | None = None,
               days: int = 7, now: datetime | None = None, hash: str = "sha256",
               crl_number: int | None = 1, signer: PrivateKey | None = None) -> Crl:
    """A CRL issued by ``issuer`` revoking ``revoked`` serials (``(serial, when)`` or serial).

    ``signer`` signs with another key under the issuer's name (a forged CRL, for tests).
    """
    moment = now or datetime.now(UTC)
    this_update = last_update or moment - BACKDATE
    key = signer or issuer.key
    try:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.certificate._x509.subject)
            .last_update(this_update)
            .next_update(next_update or moment + timedelta(days=days))
        )
        if crl_number is not None:
            builder = builder.add_extension(x509.CRLNumber(crl_number), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key._key.public_key()),
            critical=False,
        )
        for item in revoked:
            serial, when = item if isinstance(item, tuple) else (item, None)
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when or this_update)
                .build()
            )
        hash_free = key.key_type in ("ML-DSA", "Ed25519")
        if not hash_free and hash not in _HASHES:
            raise CrlError(f"unsupported CRL hash {hash!r}")
        return Crl(builder.sign(key._key, None if hash_free else _HASHES[hash]()))
    except CryptoError:
        raise
    except (ValueError, TypeError) as exc:
        raise CrlError(f"cannot create CRL: {exc}") from exc


# -- files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedFiles:
    """Where :func:`save` wrote an issued certificate."""

    certificate: Path
    key: Path
    chain: Path | None
    fullchain: Path


def save(issued: IssuedCertificate, directory: str | os.PathLike[str], name: str, *,
         password: str | bytes | None = None) -> SavedFiles:
    """Write ``NAME.pem`` (certificate), ``NAME.key`` (mode 0600, PKCS#8, encrypted with
    ``password`` if given), ``NAME-chain.pem`` (when there is a chain) and
    ``NAME-fullchain.pem`` into ``directory`` (created mode 0700 if missing)."""
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path = folder / f"{name}.pem"
    key_path = folder / f"{name}.key"
    chain_path = folder / f"{name}-chain.pem" if issued.chain else None
    fullchain_path = folder / f"{name}-fullchain.pem"
    _write_private(key_path, issued.key.to_pem(password))
    cert_path.write_text(issued.cert_pem)
    if chain_path is not None:
        chain_path.write_text(issued.chain_pem)
    fullchain_path.write_text(issued.fullchain_pem)
    return SavedFiles(cert_path, key_path, chain_path, fullchain_path)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, even if it existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def load_issued(certificate_path: str | os.PathLike[str], key_path: str | os.PathLike[str],
                chain_path: str | os.PathLike[str] | None = None, *,
                password: str | bytes | None = None) -> IssuedCertificate:
    """Reload a certificate, its key and optional chain; the key must match."""
    try:
        certificate = load_pem_bundle(Path(certificate_path).read_bytes())[0]
        key = load_private_key(Path(key_path).read_bytes(), password)
        chain = tuple(load_pem_bundle(Path(chain_path).read_bytes())) if chain_path else ()
    except OSError as exc:
        raise KeyLoadError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    check_key_matches(key, certificate)
    return IssuedCertificate(certificate, key, chain)


def load_ca(directory: str | os.PathLike[str], name: str = "ca", *,
            password: str | bytes | None = None) -> IssuedCertificate:
    """Reload a CA written by :func:`save` (``NAME.pem``, ``NAME.key``, ``NAME-chain.pem``)."""
    folder = Path(directory)
    chain_path = folder / f"{name}-chain.pem"
    issued = load_issued(folder / f"{name}.pem", folder / f"{name}.key",
                         chain_path if chain_path.exists() else None, password=password)
    if not issued.certificate.is_ca:
        raise CertificateError(f"{folder / (name + '.pem')} is not a CA certificate")
    return issued
