"""How the refusal corpus (refusal_corpus.py) builds and sends its requests: the world a
case starts from, the attempt it makes, the damage done to a signed request, and the
certificates devpki does not make (an unknown critical extension, a DSA key)."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa

from roleport.crypto import devpki
from roleport.crypto.certificates import Certificate
from roleport.crypto.devpki import IssuedCertificate
from roleport.crypto.keys import PrivateKey

from .clients.support import Setup, post_session

Headers = list[tuple[str, str]]
Tamper = Callable[[Headers, bytes], tuple[Headers, bytes]]


@dataclass
class World:
    """What a case builds on: the account's resources, the session PKI, a CRL server."""

    setup: Setup
    pki: Any
    crl_base: str
    crl_routes: dict[str, bytes]

    @property
    def root(self) -> IssuedCertificate:
        return self.pki.root

    def leaf(self, cn: str = "corpus", issuer: IssuedCertificate | None = None,
             **options: Any) -> IssuedCertificate:
        return devpki.issue_leaf(issuer or self.pki.root, cn, **options)


@dataclass
class Attempt:
    """One CreateSession to send: the certificate, the key that signs, the body, and any
    damage done to the signed request before it is sent."""

    leaf: IssuedCertificate
    chain: list[Certificate] | None = None  #: None: the leaf's intermediates
    key: PrivateKey | None = None  #: None: the leaf's own key
    sign: Callable[[bytes], bytes] | None = None  #: overrides ``key`` (keys PrivateKey lacks)
    body: dict[str, Any] = field(default_factory=dict)  #: merged over the world's ARNs
    raw_body: bytes | None = None
    algorithm: str | None = None
    signed_headers: list[str] | None = None
    credential: str | None = None
    region: str | None = None
    skew: timedelta = timedelta(0)
    tamper: Callable[[Headers, bytes], tuple[Headers, bytes]] | None = None

    @property
    def signing_key(self) -> PrivateKey | None:
        """The key ``roleport explain`` is given (None: it cannot hold this one)."""
        return None if self.sign is not None else (self.key or self.leaf.key)


def header(name: str, value: str | None) -> Callable[[Headers, bytes], tuple[Headers, bytes]]:
    """Replace (or, with None, drop) one header after signing."""
    def tamper(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
        kept = [(n, v) for n, v in headers if n != name]
        return (kept if value is None else [*kept, (name, value)]), body
    return tamper


def authorization(change: Callable[[str], str]) -> Callable[[Headers, bytes],
                                                             tuple[Headers, bytes]]:
    def tamper(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
        return [(n, change(v) if n == "authorization" else v) for n, v in headers], body
    return tamper


def signature_hex(change: Callable[[str], str]) -> Callable[[Headers, bytes],
                                                         tuple[Headers, bytes]]:
    def edit(value: str) -> str:
        head, _, signature = value.rpartition("Signature=")
        return head + "Signature=" + change(signature)
    return authorization(edit)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def now() -> datetime:
    return datetime.now(UTC)


def with_critical_extension(issuer: IssuedCertificate, cn: str, *, is_ca: bool) -> IssuedCertificate:
    """A certificate with an unknown critical extension (OID of a private arc)."""
    key = devpki.generate_private_key("ec")
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name.from_rfc4514_string(f"CN={cn}"))
               .issuer_name(issuer.certificate._x509.subject)
               .public_key(key._key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now() - timedelta(minutes=5))
               .not_valid_after(now() + timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=is_ca,
                   crl_sign=is_ca, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer.key._key.public_key()), critical=False)
               .add_extension(x509.UnrecognizedExtension(
                   x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1"), b"\x05\x00"), critical=True))
    cert = Certificate(builder.sign(issuer.key._key, hashes.SHA256()))
    return IssuedCertificate(cert, key, (issuer.certificate, *issuer.chain))


def dsa_leaf(world: World) -> Attempt:
    with warnings.catch_warnings():  # DSA is deprecated: that is the point of the case
        warnings.simplefilter("ignore")
        key = dsa.generate_private_key(2048)
    root = world.root
    cert = Certificate(
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=dsa"))
        .issuer_name(root.certificate._x509.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - timedelta(minutes=5))
        .not_valid_after(now() + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root.key._key, hashes.SHA256()))
    stand_in = world.leaf("dsa")  # for its type only: the certificate and key are the DSA ones
    leaf = IssuedCertificate(cert, stand_in.key, ())
    return Attempt(leaf, sign=lambda data: key.sign(data, hashes.SHA256()),
                   algorithm="AWS4-X509-RSA-SHA256")


def send(world: World, attempt: Attempt) -> Any:
    """Sign and post ``attempt`` to the world's server; the raw httpx response."""
    body: dict[str, Any] | bytes = attempt.raw_body if attempt.raw_body is not None else {
        **world.setup.arns, **attempt.body}
    sign = attempt.sign or (attempt.key or attempt.leaf.key).sign
    return post_session(world.setup.server, attempt.leaf, body=body, chain=attempt.chain,
                        sign=sign, algorithm=attempt.algorithm,
                        signed_headers=attempt.signed_headers, credential=attempt.credential,
                        region=attempt.region, now=now() + attempt.skew,
                        tamper=attempt.tamper)
