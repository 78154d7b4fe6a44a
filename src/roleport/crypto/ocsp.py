"""OCSP (RFC 6960): build a request for one certificate, verify the responder's answer.

:func:`build_request` makes a DER ``OCSPRequest`` for a certificate and its issuer (SHA-1
CertID, as RFC 5019 responders expect) with a fresh 16-byte nonce (RFC 8954).
:func:`verify_response` accepts an answer only when every rule holds, and otherwise
raises :class:`~roleport.crypto.errors.OcspError` naming the first one broken:

* the response parses and its status is ``successful``;
* it holds a SingleResponse for exactly this certificate (serial, issuer name and key
  hashes, under the hash algorithm the responder chose);
* it is signed by the issuer itself, or by a *delegated responder*: a certificate
  embedded in the response, issued (signed) by the issuer, valid now, whose
  extendedKeyUsage includes id-kp-OCSPSigning (RFC 6960 §4.2.2.2);
* ``thisUpdate`` is not in the future and ``nextUpdate`` (when given) not in the past,
  both allowing ``max_skew``;
* the nonce sent is echoed.

What the responder says (good, revoked with its time and reason, unknown) comes back as
an :class:`OcspAnswer`; deciding what to do with it is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from roleport.crypto.certificates import Certificate, _verify_signature
from roleport.crypto.errors import OcspError
from roleport.crypto.secrets import random_bytes

__all__ = ["GOOD", "REVOKED", "UNKNOWN", "OcspAnswer", "OcspRequest", "build_request",
           "verify_response"]

GOOD, REVOKED, UNKNOWN = "good", "revoked", "unknown"
_STATUS = {ocsp.OCSPCertStatus.GOOD: GOOD, ocsp.OCSPCertStatus.REVOKED: REVOKED,
           ocsp.OCSPCertStatus.UNKNOWN: UNKNOWN}
_OCSP_SIGNING = ExtendedKeyUsageOID.OCSP_SIGNING
NONCE_BYTES = 16


@dataclass(frozen=True)
class OcspRequest:
    der: bytes
    nonce: bytes


@dataclass(frozen=True)
class OcspAnswer:
    status: str
    this_update: datetime
    next_update: datetime | None
    revoked_at: datetime | None = None
    #: the CRLReason in RFC 5280's camelCase spelling (``keyCompromise``), if given
    revocation_reason: str | None = None
    #: who signed it: ``issuer`` or the delegated responder's subject DN
    signer: str = "issuer"


def build_request(certificate: Certificate, issuer: Certificate) -> OcspRequest:
    """A DER OCSP request for ``certificate`` (issued by ``issuer``) with a fresh nonce."""
    nonce = random_bytes(NONCE_BYTES)
    request = (ocsp.OCSPRequestBuilder()
               .add_certificate(certificate._x509, issuer._x509, hashes.SHA1())  # noqa: S303
               .add_extension(x509.OCSPNonce(nonce), critical=False)
               .build())
    return OcspRequest(request.public_bytes(serialization.Encoding.DER), nonce)


def verify_response(data: bytes, request: OcspRequest, certificate: Certificate,
                    issuer: Certificate, now: datetime, *,
                    max_skew: timedelta = timedelta(minutes=5)) -> OcspAnswer:
    """The verified answer about ``certificate`` in ``data``, or OcspError."""
    try:
        response = ocsp.load_der_ocsp_response(data)
    except Exception as exc:  # any parsing failure of untrusted bytes
        raise OcspError("the response is not an OCSP response", detail=str(exc)) from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspError(f"the responder answered {response.response_status.name.lower()}")
    try:
        single = _single_response_for(response, certificate, issuer)
        signer = _check_signature(response, issuer, now)
        this_update = response.this_update_utc
        next_update = response.next_update_utc
        echoed = _nonce(response)
        status = _STATUS[single.certificate_status]
        revoked_at = single.revocation_time_utc if status == REVOKED else None
        reason = single.revocation_reason if status == REVOKED else None
    except OcspError:
        raise
    except Exception as exc:  # a malformed field of untrusted bytes
        raise OcspError("the OCSP response could not be read", detail=str(exc)) from None
    if this_update > now + max_skew:
        raise OcspError(f"the OCSP response is not valid yet (thisUpdate {_iso(this_update)})")
    if next_update is not None and next_update < now - max_skew:
        raise OcspError(f"the OCSP response has expired (nextUpdate {_iso(next_update)})")
    if echoed is None:
        raise OcspError("the responder did not echo the request's nonce")
    if echoed != request.nonce:
        raise OcspError("the response's nonce is not the request's (a replayed answer?)")
    return OcspAnswer(status=status, this_update=this_update, next_update=next_update,
                      revoked_at=revoked_at,
                      revocation_reason=_reason_name(reason) if reason is not None else None,
                      signer=signer)


# -- helpers ------------------------------------------------------------------------------


def _single_response_for(response: ocsp.OCSPResponse, certificate: Certificate,
                         issuer: Certificate) -> ocsp.OCSPSingleResponse:
    ids: dict[str, tuple[bytes, bytes]] = {}
    for single in response.responses:
        algorithm = single.hash_algorithm
        if algorithm.name not in ids:
            probe = (ocsp.OCSPRequestBuilder()
                     .add_certificate(certificate._x509, issuer._x509, algorithm).build())
            ids[algorithm.name] = (probe.issuer_name_hash, probe.issuer_key_hash)
        if (single.serial_number == certificate.serial
                and (single.issuer_name_hash, single.issuer_key_hash) == ids[algorithm.name]):
            return single
    raise OcspError(f"the OCSP response says nothing about serial {certificate.serial_hex} "
                    f"of {issuer.subject_dn or 'its issuer'}")


def _verifies(key_of: Certificate, response: ocsp.OCSPResponse) -> bool:
    try:
        _verify_signature(key_of._x509.public_key(), response.signature,
                          response.tbs_response_bytes, None, response.signature_hash_algorithm)
    except (InvalidSignature, TypeError, ValueError, UnsupportedAlgorithm):
        return False
    return True


def _check_signature(response: ocsp.OCSPResponse, issuer: Certificate, now: datetime) -> str:
    """Who signed ``response``: ``issuer``, or a delegated responder's DN; else OcspError."""
    if _verifies(issuer, response):
        return "issuer"
    problems = []
    for embedded in response.certificates:
        responder = Certificate(embedded)
        name = responder.subject_dn or f"serial {responder.serial_hex}"
        if not _verifies(responder, response):
            continue
        if not responder.is_issued_by(issuer):
            problems.append(f"{name} is not issued by the certificate's issuer")
        elif _OCSP_SIGNING.dotted_string not in (responder.extended_key_usage or []):
            problems.append(f"{name} lacks extendedKeyUsage id-kp-OCSPSigning")
        elif (problem := responder.validity_problem(now)) is not None:
            problems.append(f"{name}: {problem}")
        else:
            return responder.subject_dn
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise OcspError("the OCSP response is not signed by the certificate's issuer or a "
                    f"responder it delegated{detail}")


def _nonce(response: ocsp.OCSPResponse) -> bytes | None:
    try:
        extension = response.extensions.get_extension_for_class(x509.OCSPNonce)
    except x509.ExtensionNotFound:
        return None
    return extension.value.nonce


def _reason_name(reason: x509.ReasonFlags) -> str:
    head, *rest = reason.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
