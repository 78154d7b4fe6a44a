"""The X.509 variant of SigV4 that signs ``POST /sessions`` (CreateSession).

A workload signs the request with its certificate's private key instead of an HMAC key::

    Authorization: AWS4-X509-ECDSA-SHA256 Credential=<decimal serial>/<date>/<region>/
                   rolesanywhere/aws4_request, SignedHeaders=..., Signature=<hex>
    X-Amz-X509: <base64 DER of the signing certificate>
    X-Amz-X509-Chain: <base64 DER>,<base64 DER>         (optional, at most 5)

Canonical request and string to sign are plain SigV4 (:mod:`roleport.auth.sigv4`); the
signature is RSA PKCS#1 v1.5, ECDSA (DER) or ML-DSA over the string to sign, checked by
:func:`roleport.crypto.signatures.verify_request_signature`.

Server side, in the order CreateSession needs:

* :func:`read_x509_request` parses the ``Authorization`` header (its region scopes the
  trust-anchor lookup) and the certificate headers. It raises only when the header cannot
  be read at all; a certificate that does not parse is kept as a failure for later steps.
* :meth:`X509Request.verify` does the rest once the trust anchor and profile exist: date
  and clock skew, credential scope, signed headers, serial, and the signature itself. It
  returns the leniencies used and raises :class:`~roleport.errors.AuthenticationError`
  (kind ``expired-signature`` for clock skew, ``signature`` or ``incomplete`` otherwise).

Client side, :func:`sign_x509_request` signs a request the way the official Go helper does
(every header signed except the unsignable ones), with any signing function, so tests can
make each deviant signature a real client sends.

Leniency names reported here (besides those of :mod:`roleport.crypto.signatures`):
``unsigned-certificate-header`` (``x-amz-x509``/``x-amz-x509-chain`` sent but not signed),
``hex-serial`` (``Credential=0x...``), ``base64-whitespace`` (certificate base64 with
whitespace or without padding). A body sent with chunked transfer coding is no leniency:
it is HTTP framing, the official Go helper up to v1.4 sends every body so, and AWS takes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from roleport.auth.sigv4 import (
    TERMINATOR,
    Authorization,
    CredentialScope,
    canonical_request,
    format_amz_date,
    format_authorization,
    parse_authorization,
    payload_hash,
    signable_header_names,
    string_to_sign,
)
from roleport.auth.verifier import DEFAULT_MAX_SKEW, SigningRequest, read_signed_request
from roleport.crypto.certificates import Certificate, load_der_base64
from roleport.crypto.errors import CryptoError
from roleport.crypto.signatures import verify_request_signature
from roleport.errors import AuthenticationError

__all__ = [
    "CERTIFICATE_HEADER",
    "CHAIN_HEADER",
    "LABELLED_ALGORITHMS",
    "MAX_CHAIN_CERTIFICATES",
    "SERVICE",
    "STANDARD_ALGORITHMS",
    "X509Request",
    "read_x509_request",
    "sign_x509_request",
]

SERVICE = "rolesanywhere"
CERTIFICATE_HEADER = "x-amz-x509"
CHAIN_HEADER = "x-amz-x509-chain"
#: the documented algorithm names
STANDARD_ALGORITHMS = ("AWS4-X509-RSA-SHA256", "AWS4-X509-ECDSA-SHA256", "AWS4-X509-MLDSA")
#: names iam-rolesanywhere-session derives from its CA's hash (lenient mode only)
LABELLED_ALGORITHMS = ("AWS4-X509-RSA-SHA384", "AWS4-X509-RSA-SHA512",
                       "AWS4-X509-ECDSA-SHA384", "AWS4-X509-ECDSA-SHA512")
#: AWS: "MUST NOT exceed the maximum depth of 5 certificates"
MAX_CHAIN_CERTIFICATES = 5
#: how many chain items a lenient server reads before refusing the header outright
_MAX_CHAIN_ITEMS = 16
_DECIMAL = re.compile(r"\d{1,60}")
_HEX_SERIAL = re.compile(r"0[xX][0-9a-fA-F]{1,50}")


@dataclass
class X509Request:
    """The X.509 signature parameters of a CreateSession request, read but not verified."""

    request: SigningRequest = field(repr=False)
    authorization: Authorization
    lenient: bool
    #: the signing certificate, or ``None`` when it is missing or does not parse
    certificate: Certificate | None
    #: why ``certificate`` is ``None``
    certificate_problem: str | None
    #: ``X-Amz-X509-Chain`` as sent (order, duplicates and all)
    chain: list[Certificate]
    #: why the chain header could not be read, if it could not
    chain_problem: str | None
    #: leniencies already used while reading the headers
    leniencies: set[str] = field(default_factory=set)

    @property
    def region(self) -> str:
        return self.authorization.scope.region

    @property
    def algorithm(self) -> str:
        return self.authorization.algorithm

    def verify(self, *, now: datetime, max_skew: timedelta = DEFAULT_MAX_SKEW) -> set[str]:
        """Check date, scope, signed headers, serial and signature; return the leniencies
        used (those of reading included). Raises AuthenticationError."""
        algorithms = STANDARD_ALGORITHMS + (LABELLED_ALGORITHMS if self.lenient else ())
        signed = read_signed_request(self.request, now=now, expected_service=SERVICE,
                                     max_skew=max_skew, algorithms=algorithms,
                                     authorization=self.authorization)
        used = set(self.leniencies)
        self._check_signed_headers(used)
        certificate = self.certificate
        if certificate is None:
            raise AuthenticationError("signature", self.certificate_problem
                                      or "the signing certificate is missing")
        used |= self._check_serial(certificate)
        if self.chain_problem is not None:
            raise AuthenticationError("signature", self.chain_problem)
        failure: str | None = None
        for sts in signed.strings_to_sign:
            try:
                used |= verify_request_signature(certificate, self.algorithm, sts.encode("utf-8"),
                                                 self.authorization.signature,
                                                 lenient=self.lenient)
                return used
            except CryptoError as exc:
                failure = failure or exc.full
        error = AuthenticationError("signature", failure or "signature does not verify")
        error.canonical_request = signed.canonical_requests[0]  # type: ignore[attr-defined]
        error.string_to_sign = signed.strings_to_sign[0]  # type: ignore[attr-defined]
        raise error

    def _check_signed_headers(self, used: set[str]) -> None:
        lowered = {name.lower() for name in self.authorization.signed_headers}
        for header in (CERTIFICATE_HEADER, CHAIN_HEADER):
            if header in lowered or not self.request.header_values(header):
                continue
            if not self.lenient:
                raise AuthenticationError(
                    "signature", f"'{header}' is sent but not in SignedHeaders")
            used.add("unsigned-certificate-header")

    def _check_serial(self, certificate: Certificate) -> set[str]:
        credential = self.authorization.credential
        if _DECIMAL.fullmatch(credential):
            serial, used = int(credential), set()
        elif self.lenient and _HEX_SERIAL.fullmatch(credential):
            serial, used = int(credential, 16), {"hex-serial"}
        else:
            raise AuthenticationError(
                "signature", f"Credential must begin with the signing certificate's decimal "
                             f"serial number, got '{credential}'")
        if serial != certificate.serial:
            raise AuthenticationError(
                "signature", f"the serial number in Credential ({credential}) is not the "
                             f"serial of the X-Amz-X509 certificate "
                             f"({certificate.serial_decimal})")
        return used


def read_x509_request(request: SigningRequest, *, lenient: bool = True) -> X509Request:
    """Parse the ``Authorization`` header and the certificate headers.

    Raises AuthenticationError only when the ``Authorization`` header cannot be read (no
    region to work in); certificate problems are kept for :meth:`X509Request.verify`.
    """
    headers = request.header_values("authorization")
    if len(headers) != 1:
        raise AuthenticationError("incomplete", "exactly one Authorization header is required")
    amz_dates = request.header_values("x-amz-date")
    authorization = parse_authorization(headers[0].strip(), date_present=bool(amz_dates))
    if not authorization.algorithm.startswith("AWS4-X509-"):
        raise AuthenticationError("incomplete", f"Unsupported AWS 'algorithm': "
                                                f"'{authorization.algorithm}'")
    leniencies: set[str] = set()
    certificate, problem = _read_certificate(request, lenient, leniencies)
    chain, chain_problem = _read_chain(request, lenient, leniencies)
    return X509Request(request=request, authorization=authorization, lenient=lenient,
                       certificate=certificate, certificate_problem=problem, chain=chain,
                       chain_problem=chain_problem, leniencies=leniencies)


def _decode(text: str, lenient: bool, leniencies: set[str]) -> Certificate:
    try:
        return load_der_base64(text.strip())
    except CryptoError:
        if not lenient:
            raise
    certificate = load_der_base64(text, lenient=True)
    leniencies.add("base64-whitespace")
    return certificate


def _read_certificate(request: SigningRequest, lenient: bool,
                      leniencies: set[str]) -> tuple[Certificate | None, str | None]:
    values = request.header_values(CERTIFICATE_HEADER)
    if not values:
        return None, "the X-Amz-X509 header with the signing certificate is missing"
    distinct = set(values)
    if len(distinct) > 1:  # the Go helper sends it twice, with the same value
        return None, "X-Amz-X509 is sent more than once with different values"
    try:
        return _decode(values[0], lenient, leniencies), None
    except CryptoError as exc:
        return None, f"X-Amz-X509: {exc.full}"


def _read_chain(request: SigningRequest, lenient: bool,
                leniencies: set[str]) -> tuple[list[Certificate], str | None]:
    values = request.header_values(CHAIN_HEADER)
    items = [item for value in values for item in value.split(",") if item.strip()]
    if len(items) > _MAX_CHAIN_ITEMS:
        return [], (f"X-Amz-X509-Chain holds {len(items)} certificates; at most "
                    f"{MAX_CHAIN_CERTIFICATES} are allowed")
    chain = []
    for index, item in enumerate(items, start=1):
        try:
            chain.append(_decode(item, lenient, leniencies))
        except CryptoError as exc:
            return [], f"X-Amz-X509-Chain certificate {index}: {exc.full}"
    return chain, None


# ------------------------------------------------------------------------------ signing


def sign_x509_request(request: SigningRequest, *, certificate: Certificate,
                      sign: Callable[[bytes], bytes], region: str, now: datetime,
                      chain: Sequence[Certificate] = (), algorithm: str | None = None,
                      signed_headers: Sequence[str] | None = None,
                      canonical_path: str | None = None,
                      credential: str | None = None) -> SigningRequest:
    """Sign ``request`` for CreateSession and return it with ``x-amz-date``,
    ``x-amz-x509`` (and ``x-amz-x509-chain``) and ``authorization`` added.

    ``sign`` signs the string-to-sign bytes (``PrivateKey.sign`` for a standard client,
    ``lambda d: key.sign_as(d, rsa_pss=True)`` for iamra). ``signed_headers`` defaults to
    every signable header present, as the Go helper and botocore do; ``algorithm`` to the
    documented name for the certificate's key. ``canonical_path`` overrides the path in the
    canonical request (the Go helper always signs ``/sessions``); ``credential`` the serial
    in ``Credential=``.
    """
    amz_date = format_amz_date(now)
    drop = {"authorization", "x-amz-date", CERTIFICATE_HEADER, CHAIN_HEADER}
    headers = [(n, v) for n, v in request.headers if n.lower() not in drop]
    headers.append(("x-amz-date", amz_date))
    headers.append((CERTIFICATE_HEADER, certificate.der_base64))
    if chain:
        headers.append((CHAIN_HEADER, ",".join(c.der_base64 for c in chain)))
    if signed_headers is None:
        signed = signable_header_names(headers)
    else:
        signed = sorted(name.lower() for name in signed_headers)
    if algorithm is None:
        algorithm = {"RSA": STANDARD_ALGORITHMS[0], "EC": STANDARD_ALGORITHMS[1],
                     "ML-DSA": STANDARD_ALGORITHMS[2]}[certificate.key_type]
    creq = canonical_request(request.method, canonical_path or request.raw_path,
                             request.raw_query, headers, signed, payload_hash(request.body),
                             drop=())
    scope = CredentialScope(amz_date[:8], region, SERVICE, TERMINATOR)
    sts = string_to_sign(algorithm, amz_date, scope, creq)
    signature = sign(sts.encode("utf-8")).hex()
    headers.append(("authorization", format_authorization(
        algorithm, credential or certificate.serial_decimal, scope, signed, signature)))
    return replace(request, headers=headers)
