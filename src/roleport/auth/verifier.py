"""Server-side verification of SigV4-signed requests, and the matching client signer.

Two layers:

* :func:`read_signed_request` does everything that needs no key: it finds the signature
  (``Authorization`` header or presigned query), checks the date, the clock skew, the
  credential scope and the signed headers, and builds the canonical request(s). The HMAC
  verifier below and the X.509 verifier of ``POST /sessions`` both start here.
* :func:`verify` adds the HMAC part: look up the secret for the access key id, derive the
  signing key, compare signatures in constant time.

Every failure is an :class:`~roleport.errors.AuthenticationError` whose ``kind`` says what
went wrong, protocol-neutrally (the protocol layer picks the wire code):

===================== ==========================================================
kind                  meaning
===================== ==========================================================
``missing``           no ``Authorization`` header and no presigned query
``incomplete``        malformed header/query, no date, unsupported algorithm,
                      a signed header the request lacks
``expired-signature`` the date is outside the allowed skew, or past X-Amz-Expires
``scope``             credential scope: wrong date, region, service or terminator
``unknown-key``       the lookup does not know the access key id
``signature``         signatures differ, ``host`` not signed (AWS answers
                      InvalidSignatureException there), payload hash mismatch
===================== ==========================================================

Messages follow AWS's wording where it is known. Neither the secret nor the expected
signature ever appears in a message; on a mismatch the exception carries the canonical
request and string to sign (derived from the request alone, as AWS reports them) in
``canonical_request`` and ``string_to_sign`` attributes.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import formatdate
from functools import cached_property
from typing import Protocol

from roleport.auth.sigv4 import (
    HMAC_ALGORITHM,
    TERMINATOR,
    Authorization,
    SigningKeyCache,
    botocore_query_string,
    canonical_query_string,
    canonical_request,
    format_amz_date,
    format_authorization,
    has_presigned_parameters,
    hmac_signature,
    parse_amz_date,
    parse_authorization,
    parse_presigned,
    parse_query,
    payload_hash,
    signable_header_names,
    signing_key,
    string_to_sign,
)
from roleport.errors import AuthenticationError

__all__ = [
    "DEFAULT_MAX_SKEW",
    "MISSING_TOKEN_MESSAGE",
    "SIGNATURE_MISMATCH_MESSAGE",
    "UNKNOWN_KEY_MESSAGE",
    "Credential",
    "SecretLookup",
    "SecretLookupResult",
    "SignedRequest",
    "SigningRequest",
    "VerifiedRequest",
    "access_key_id_of",
    "read_signed_request",
    "service_and_region_of",
    "sign_request",
    "verify",
]

DEFAULT_MAX_SKEW = timedelta(minutes=5)
MISSING_TOKEN_MESSAGE = "Missing Authentication Token"
UNKNOWN_KEY_MESSAGE = "The security token included in the request is invalid."
SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details.")

_CREDENTIAL_RE = re.compile(r"Credential\s*=\s*([^,\s]*)")


@dataclass(frozen=True)
class SigningRequest:
    """One HTTP request as the server received it.

    ``raw_path`` and ``raw_query`` are still percent-encoded (ASGI ``raw_path`` and
    ``query_string``). ``headers`` are ``(lower-case name, value)`` in arrival order,
    repeated names kept; for HTTP/2 put ``:authority`` in as ``host``. ``body`` is the
    de-chunked body.
    """

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header_values(self, name: str) -> list[str]:
        return list(self._by_name.get(name.lower(), ()))

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        """Header values by lower-case name, in arrival order (built on first use)."""
        out: dict[str, list[str]] = {}
        for hname, value in self.headers:
            out.setdefault(hname.lower(), []).append(value)
        return out


@dataclass(frozen=True)
class Credential:
    """What the lookup knows about an access key: its secret and who it belongs to."""

    secret_access_key: str = field(repr=False)
    identity: object = None


#: The brief's name for what a lookup returns.
SecretLookupResult = Credential


class SecretLookup(Protocol):
    """``lookup(access_key_id, session_token)``: the key's credential, ``None`` when the key
    is unknown; may raise ``AuthenticationError`` itself (e.g. kind ``expired-token``)."""

    def __call__(self, access_key_id: str, session_token: str | None, /) -> Credential | None:
        ...


@dataclass(frozen=True)
class VerifiedRequest:
    identity: object
    authorization: Authorization
    service: str
    region: str
    access_key_id: str
    session_token: str | None = field(default=None, repr=False)
    signed_at: datetime | None = None


@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature parameters passed every check that needs no key.

    ``canonical_requests`` holds the canonical request first, then (only when it differs)
    botocore's raw-query variant for hand-built URLs; a signature is valid if it matches
    one of them.
    """

    authorization: Authorization
    amz_date: str
    signed_at: datetime
    security_token: str | None = field(repr=False)
    canonical_requests: tuple[str, ...] = field(repr=False)

    @property
    def strings_to_sign(self) -> tuple[str, ...]:
        auth = self.authorization
        return tuple(string_to_sign(auth.algorithm, self.amz_date, auth.scope, creq)
                     for creq in self.canonical_requests)


# --------------------------------------------------------------------------- reading


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _find_authorization(request: SigningRequest, parsed: Authorization | None = None,
                        ) -> tuple[Authorization, str, str | None]:
    """The parsed signature parameters, the request date string, and the session token.
    ``parsed``: the caller already parsed the Authorization header into this."""
    headers = request.header_values("authorization")
    query = parse_query(request.raw_query) if request.raw_query else {}
    if len(headers) > 1:
        raise AuthenticationError(
            "incomplete", "Only one Authorization header is allowed in a request.")
    if headers and has_presigned_parameters(query):
        raise AuthenticationError(
            "incomplete", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                          "parameter or the Authorization header should be specified.")
    presigned = parse_presigned(query)
    token_headers = request.header_values("x-amz-security-token")
    header_token = ",".join(token_headers) if token_headers else None
    if presigned is not None:
        assert presigned.amz_date is not None
        return presigned, presigned.amz_date, presigned.security_token or header_token
    if not headers or not headers[0].strip().startswith("AWS4-"):
        # AWS answers a foreign scheme (Basic, Bearer, SigV2) as if nothing were sent.
        raise AuthenticationError("missing", MISSING_TOKEN_MESSAGE)
    amz_dates = request.header_values("x-amz-date")
    dates = request.header_values("date")
    auth = parsed or parse_authorization(headers[0], date_present=bool(amz_dates or dates))
    if amz_dates:
        return auth, ",".join(amz_dates), header_token
    signed_at = parse_amz_date(",".join(dates), allow_http_date=True)
    return auth, format_amz_date(signed_at), header_token


def _check_time(auth: Authorization, amz_date: str, signed_at: datetime, now: datetime,
                max_skew: timedelta) -> None:
    now_text = format_amz_date(now)
    if signed_at > now + max_skew:
        raise AuthenticationError(
            "expired-signature",
            f"Signature not yet current: {amz_date} is still later than "
            f"{format_amz_date(now + max_skew)} ({now_text} + {_minutes(max_skew)})")
    if auth.expires is not None:
        ends = signed_at + timedelta(seconds=auth.expires)
        if now > ends:
            raise AuthenticationError(
                "expired-signature",
                f"Request has expired: X-Amz-Date {amz_date} + X-Amz-Expires {auth.expires} s "
                f"ended at {format_amz_date(ends)}, now is {now_text}.")
    elif signed_at < now - max_skew:
        raise AuthenticationError(
            "expired-signature",
            f"Signature expired: {amz_date} is now earlier than "
            f"{format_amz_date(now - max_skew)} ({now_text} - {_minutes(max_skew)})")


def _check_scope(auth: Authorization, amz_date: str, expected_service: str | None,
                 expected_region: str | None) -> None:
    scope = auth.scope
    problems = []
    if not scope.region or (expected_region is not None and scope.region != expected_region):
        problems.append(f"Credential should be scoped to a valid region, not '{scope.region}'.")
    if not scope.service or (expected_service is not None and scope.service != expected_service):
        problems.append("Credential should be scoped to correct service: "
                        f"'{expected_service or scope.service}'.")
    if scope.terminator != TERMINATOR:
        problems.append("Credential should be scoped with a valid terminator: "
                        f"'{TERMINATOR}', not '{scope.terminator}'.")
    if scope.date != amz_date[:8]:
        problems.append("Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                        f"version of date from HTTP: '{scope.date}' != '{amz_date[:8]}', "
                        f"from '{amz_date}'.")
    if problems:
        raise AuthenticationError("scope", " ".join(problems))


def _payload_hash(request: SigningRequest) -> str:
    computed = payload_hash(request.body)
    declared = request.header_values("x-amz-content-sha256")
    if declared and (len(declared) > 1 or declared[0].strip().lower() != computed):
        raise AuthenticationError(
            "signature",
            "The provided 'x-amz-content-sha256' header does not match what was computed.")
    return computed


def read_signed_request(request: SigningRequest, *, now: datetime,
                        expected_service: str | None,
                        expected_region: str | None = None,
                        max_skew: timedelta = DEFAULT_MAX_SKEW,
                        algorithms: Collection[str] = (HMAC_ALGORITHM,),
                        authorization: Authorization | None = None) -> SignedRequest:
    """Every check that needs no key, in AWS's order: parameters present, date format,
    skew/expiry, ``host`` signed, algorithm, credential scope, signed headers present.
    Then the canonical request(s). ``authorization``: the request's Authorization header,
    already parsed by the caller (not parsed again)."""
    _require_aware(now)
    auth, amz_date_text, token = _find_authorization(request, authorization)
    signed_at = parse_amz_date(amz_date_text, allow_http_date=False)
    amz_date = format_amz_date(signed_at)
    _check_time(auth, amz_date, signed_at, now, max_skew)
    lowered = [name.lower() for name in auth.signed_headers]
    if "host" not in lowered:
        raise AuthenticationError(
            "signature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if auth.algorithm not in algorithms:
        raise AuthenticationError(
            "incomplete", f"Unsupported AWS 'algorithm': '{auth.algorithm}' "
                          f"(only {', '.join(sorted(algorithms))} for now).")
    _check_scope(auth, amz_date, expected_service, expected_region)
    if len(set(lowered)) != len(lowered) or "" in lowered:
        raise AuthenticationError(
            "incomplete", f"SignedHeaders '{';'.join(auth.signed_headers)}' must list each "
                          "header name once.")
    present = {name.lower() for name, _ in request.headers}
    for name in lowered:
        if name not in present:
            raise AuthenticationError(
                "incomplete", f"Header '{name}' is in SignedHeaders but not in the request.")

    drop = ("X-Amz-Signature",) if auth.presigned else ()
    body_hash = _payload_hash(request)
    canonical = canonical_query_string(request.raw_query, drop=drop)
    raw = botocore_query_string(request.raw_query, drop=drop)
    queries = (canonical,) if raw == canonical else (canonical, raw)
    creqs = tuple(
        canonical_request(request.method, request.raw_path, request.raw_query,
                          request.headers, auth.signed_headers, body_hash,
                          canonical_query=query)
        for query in queries)
    return SignedRequest(authorization=auth, amz_date=amz_date, signed_at=signed_at,
                         security_token=token, canonical_requests=creqs)


# ---------------------------------------------------------------------------- verify


def verify(request: SigningRequest,
           lookup: SecretLookup | Callable[[str, str | None], Credential | None],
           *, now: datetime, expected_service: str | None,
           expected_region: str | None = None,
           max_skew: timedelta = DEFAULT_MAX_SKEW,
           key_cache: SigningKeyCache | None = None) -> VerifiedRequest:
    """Verify an ``AWS4-HMAC-SHA256`` request (header or presigned form)."""
    signed = read_signed_request(request, now=now, expected_service=expected_service,
                                 expected_region=expected_region, max_skew=max_skew)
    auth = signed.authorization
    credential = lookup(auth.credential, signed.security_token)
    if credential is None:
        raise AuthenticationError("unknown-key", UNKNOWN_KEY_MESSAGE)
    scope = auth.scope
    if key_cache is not None:
        key = key_cache.get(credential.secret_access_key, scope.date, scope.region,
                            scope.service)
    else:
        key = signing_key(credential.secret_access_key, scope.date, scope.region,
                          scope.service)
    provided = auth.signature.strip().lower().encode("utf-8", "replace")
    matched = False
    for sts in signed.strings_to_sign:
        # Constant time; every candidate is computed and compared.
        matched |= hmac.compare_digest(hmac_signature(key, sts).encode("ascii"), provided)
    if not matched:
        error = AuthenticationError("signature", SIGNATURE_MISMATCH_MESSAGE)
        error.canonical_request = signed.canonical_requests[0]  # type: ignore[attr-defined]
        error.string_to_sign = signed.strings_to_sign[0]  # type: ignore[attr-defined]
        raise error
    return VerifiedRequest(identity=credential.identity, authorization=auth,
                           service=scope.service, region=scope.region,
                           access_key_id=auth.credential, session_token=signed.security_token,
                           signed_at=signed.signed_at)


def _credential_of(request: SigningRequest) -> str | None:
    """The ``Credential`` of the signature, unverified (header or presigned query)."""
    headers = request.header_values("authorization")
    if headers:
        match = _CREDENTIAL_RE.search(headers[0])
        return match.group(1) if match else None
    if "X-Amz-Credential" in request.raw_query:
        values = parse_query(request.raw_query).get("X-Amz-Credential")
        return values[0] if values else None
    return None


def access_key_id_of(request: SigningRequest) -> str | None:
    """The access key id a request claims to be signed with, unverified."""
    credential = _credential_of(request)
    return credential.split("/", 1)[0] or None if credential else None


def service_and_region_of(request: SigningRequest) -> tuple[str, str] | None:
    """``(service, region)`` from the credential scope, without verifying anything, so the
    router can choose the service model before authentication. ``None`` if unsigned or
    unreadable."""
    credential = _credential_of(request)
    if not credential:
        return None
    parts = credential.split("/")
    if len(parts) != 5 or not parts[2] or not parts[3]:
        return None
    return parts[3], parts[2]


# ----------------------------------------------------------------------------- sign


def sign_request(request: SigningRequest, *, access_key_id: str, secret_access_key: str,
                 region: str, service: str, now: datetime,
                 session_token: str | None = None) -> SigningRequest:
    """Sign ``request`` as botocore's ``SigV4Auth`` would and return it with ``x-amz-date``
    (or a rewritten ``date``), ``x-amz-security-token`` and ``authorization`` set.

    Like botocore it signs every header present except :data:`UNSIGNABLE_HEADERS`, so
    ``host`` must be among ``request.headers``.
    """
    _require_aware(now)
    amz_date = format_amz_date(now)
    drop = {"authorization", "x-amz-date"} | ({"x-amz-security-token"} if session_token else set())
    has_date = any(name.lower() == "date" for name, _ in request.headers)
    if has_date:
        drop.add("date")
    headers = [(n, v) for n, v in request.headers if n.lower() not in drop]
    if has_date:
        headers.append(("date", formatdate(now.timestamp())))
    else:
        headers.append(("x-amz-date", amz_date))
    if session_token:
        headers.append(("x-amz-security-token", session_token))
    if not any(name.lower() == "host" for name, _ in headers):
        raise ValueError("sign_request needs a host header")
    signed = signable_header_names(headers)
    declared = [v for n, v in headers if n.lower() == "x-amz-content-sha256"]
    body_hash = declared[0] if declared else payload_hash(request.body)
    creq = canonical_request(request.method, request.raw_path, request.raw_query, headers,
                             signed, body_hash, drop=())
    scope = f"{amz_date[:8]}/{region}/{service}/{TERMINATOR}"
    sts = string_to_sign(HMAC_ALGORITHM, amz_date, scope, creq)
    signature = hmac_signature(signing_key(secret_access_key, amz_date[:8], region, service),
                               sts)
    headers.append(("authorization",
                    format_authorization(HMAC_ALGORITHM, access_key_id, scope, signed,
                                         signature)))
    return replace(request, headers=headers)
