"""AWS Signature Version 4, one small pure step per function.

Everything here is shared by the server verifiers (HMAC in :mod:`roleport.auth.verifier`,
the X.509 variant for ``POST /sessions``) and by our own client signers. Nothing in this
module assumes HMAC except :func:`signing_key` and :func:`hmac_signature`; the X.509
variant uses :func:`canonical_request` and :func:`string_to_sign` with a private key instead.

The steps follow botocore's ``SigV4Auth`` (``botocore/auth.py``) byte for byte, so a request
signed by botocore, the AWS CLI or any SDK that follows the same rules verifies here::

    canonical_request = METHOD \\n canonical_uri \\n canonical_query \\n
                        canonical_headers \\n signed_headers \\n payload_hash
    string_to_sign    = ALGORITHM \\n AMZ_DATE \\n SCOPE \\n hex(sha256(canonical_request))
    signature         = hex(HMAC(signing_key(secret, date, region, service), string_to_sign))

Inputs are what the server receives: the raw (still percent-encoded) path and query, the
headers as ``(name, value)`` pairs in arrival order, the body bytes. Failures raise
:class:`roleport.errors.AuthenticationError` with AWS's wording where it is known.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, unquote_to_bytes

from roleport.errors import AuthenticationError

__all__ = [
    "AMZ_DATE_FORMAT",
    "EMPTY_PAYLOAD_HASH",
    "HMAC_ALGORITHM",
    "TERMINATOR",
    "UNSIGNABLE_HEADERS",
    "UNSIGNED_PAYLOAD",
    "Authorization",
    "CredentialScope",
    "SigningKeyCache",
    "botocore_query_string",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "format_amz_date",
    "format_authorization",
    "has_presigned_parameters",
    "hmac_signature",
    "parse_amz_date",
    "parse_authorization",
    "parse_credential",
    "parse_presigned",
    "parse_query",
    "payload_hash",
    "signable_header_names",
    "signing_key",
    "string_to_sign",
]

HMAC_ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

#: Headers botocore never signs (hop-by-hop, tracing, user agent); ``authorization`` is
#: added because a signer must never sign its own output.
UNSIGNABLE_HEADERS = frozenset({
    "authorization", "baggage", "connection", "expect", "keep-alive",
    "proxy-authenticate", "proxy-authorization", "te", "traceparent", "tracestate",
    "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
})

# RFC 3986 unreserved characters; `quote` never escapes ASCII letters, digits and "_.-~".
_UNRESERVED = "-_.~"
_AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                   "X-Amz-SignedHeaders", "X-Amz-Date")
_MAX_EXPIRES = 7 * 24 * 3600


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class CredentialScope:
    """``date/region/service/terminator``: what a signing key is valid for."""

    date: str
    region: str
    service: str
    terminator: str = TERMINATOR

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class Authorization:
    """The parsed signature parameters, from an ``Authorization`` header or a presigned query.

    ``credential`` is what precedes the scope in ``Credential=``: an access key id for
    ``AWS4-HMAC-SHA256``, the signing certificate's decimal serial for ``AWS4-X509-*``.
    The last three fields are only set for the presigned (query) form, where they travel
    as ``X-Amz-Date``, ``X-Amz-Expires`` and ``X-Amz-Security-Token``.
    """

    algorithm: str
    credential: str
    scope: CredentialScope
    signed_headers: list[str]
    signature: str = field(repr=False)
    amz_date: str | None = None
    expires: int | None = None
    security_token: str | None = field(default=None, repr=False)

    @property
    def presigned(self) -> bool:
        return self.amz_date is not None

    def header_value(self) -> str:
        """The ``Authorization`` header value, formatted as botocore does."""
        return format_authorization(self.algorithm, self.credential, self.scope,
                                    self.signed_headers, self.signature)


def format_authorization(algorithm: str, credential: str, scope: CredentialScope | str,
                         signed_headers: Sequence[str], signature: str) -> str:
    return (f"{algorithm} Credential={credential}/{scope}, "
            f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}")


# ------------------------------------------------------------------- canonical request


def canonical_uri(raw_path: str | bytes, *, double_encode: bool = True) -> str:
    """The canonical URI for the path exactly as it arrived (still percent-encoded).

    Default (every service but S3), as botocore: remove dot segments and empty segments
    (RFC 3986 5.2.4 plus AWS's "no consecutive slashes"), then percent-encode the result
    again with only ``/`` and ``~`` (and letters, digits, ``_.-``) left as they are, so a
    received ``%3A`` becomes ``%253A``. ``double_encode=False`` is S3's rule: the path is
    used as received, without normalization.
    """
    if isinstance(raw_path, bytes):
        raw_path = raw_path.decode("utf-8", "surrogateescape")
    if not double_encode:
        return raw_path or "/"
    normalized = _remove_dot_segments(raw_path) if raw_path else "/"
    return quote(normalized.encode("utf-8", "surrogateescape"), safe="/~")


def _remove_dot_segments(path: str) -> str:
    # Same algorithm as botocore.utils.remove_dot_segments.
    output: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def _encode(raw: bytes) -> str:
    return quote(raw, safe=_UNRESERVED)


def _decode(component: str) -> bytes:
    # Form decoding, as Go's url.Query and Python's parse_qs do: "+" is a space.
    return unquote_to_bytes(component.replace("+", " "))


def canonical_query_string(raw_query: str,
                           *, drop: Collection[str] = frozenset({"X-Amz-Signature"})) -> str:
    """Decode every ``name=value`` pair, re-encode it per RFC 3986 (``%20`` for space,
    upper-case hex, only ``A-Za-z0-9-_.~`` bare), sort by encoded name then value, and
    join with ``&``. A pair without ``=`` becomes ``name=``. Names in ``drop`` (decoded)
    are left out: ``X-Amz-Signature`` for presigned requests.

    Decoding first makes ``%2f``/``%2F``, ``+``/``%20`` and bare/escaped reserved
    characters canonicalize the same way, whichever encoder the client used.
    """
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        raw_name = _decode(name)
        if drop and raw_name.decode("utf-8", "replace") in drop:
            continue
        pairs.append((_encode(raw_name), _encode(_decode(value))))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def botocore_query_string(raw_query: str,
                          *, drop: Collection[str] = frozenset({"X-Amz-Signature"})) -> str:
    """botocore's canonical query for a URL it did not encode itself: the raw pairs,
    sorted, *not* re-encoded. Equal to :func:`canonical_query_string` whenever the client
    encoded its query canonically (botocore's serializers always do); the verifier only
    falls back to it for hand-built URLs with bare reserved characters."""
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        name, _, value = part.partition("=")
        if drop and unquote(name) in drop:
            continue
        pairs.append((name, value))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _trimall(value: str) -> str:
    # botocore: ' '.join(value.split()); strips the ends and collapses inner whitespace.
    return " ".join(value.split())


def canonical_headers(headers: Iterable[tuple[str, str]], signed: Sequence[str]) -> str:
    """``name:value\\n`` for each name in ``signed``, in the order given (the signer's
    order, sorted for every known client). Names match case-insensitively; a name sent
    several times gives its trimmed values comma-joined in arrival order; a signed name
    the request lacks gives ``name:`` (the verifier refuses such requests before this)."""
    wanted = {name.lower() for name in signed}
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in wanted:
            values.setdefault(lname, []).append(_trimall(value))
    return "".join(f"{name.lower()}:{','.join(values.get(name.lower(), ()))}\n"
                   for name in signed)


def canonical_request(method: str, raw_path: str | bytes, raw_query: str,
                      headers: Iterable[tuple[str, str]], signed_headers: Sequence[str],
                      payload_hash: str, *, double_encode: bool = True,
                      drop: Collection[str] = frozenset({"X-Amz-Signature"}),
                      canonical_query: str | None = None) -> str:
    """The six-line canonical request. ``canonical_query`` overrides the query step (the
    verifier passes :func:`botocore_query_string` as a fallback)."""
    if canonical_query is None:
        canonical_query = canonical_query_string(raw_query, drop=drop)
    return "\n".join([
        method.upper(),
        canonical_uri(raw_path, double_encode=double_encode),
        canonical_query,
        canonical_headers(headers, signed_headers),
        ";".join(signed_headers),
        payload_hash,
    ])


def string_to_sign(algorithm: str, amz_date: str, scope: CredentialScope | str,
                   canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{algorithm}\n{amz_date}\n{scope}\n{digest}"


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def signable_header_names(headers: Iterable[tuple[str, str]]) -> list[str]:
    """What botocore signs: every header name present except :data:`UNSIGNABLE_HEADERS`,
    lower-cased, de-duplicated and sorted."""
    return sorted({name.lower() for name, _ in headers} - UNSIGNABLE_HEADERS)


# ------------------------------------------------------------------------ HMAC keys


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode("utf-8"), hashlib.sha256)


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """``kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    "aws4_request")``."""
    k_date = _hmac(f"AWS4{secret_key}".encode(), date)
    return _hmac(_hmac(_hmac(k_date, region), service), TERMINATOR)


def hmac_signature(key: bytes, string_to_sign: str) -> str:
    return hmac.digest(key, string_to_sign.encode("utf-8"), hashlib.sha256).hex()


class SigningKeyCache:
    """A small, thread-safe LRU of derived signing keys.

    A key depends only on ``(secret, date, region, service)`` and is valid for one day, so a
    server verifying many requests from the same callers derives each key once. The secret
    itself is not kept: entries are indexed by a SHA-256 of the tuple.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, secret_key: str, date: str, region: str, service: str) -> bytes:
        index = hashlib.sha256("\0".join((secret_key, date, region, service))
                               .encode("utf-8", "surrogateescape")).digest()
        with self._lock:
            key = self._entries.get(index)
            if key is not None:
                self._entries.move_to_end(index)
                return key
        key = signing_key(secret_key, date, region, service)
        with self._lock:
            self._entries[index] = key
            self._entries.move_to_end(index)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return key


# ----------------------------------------------------------------------------- dates


def format_amz_date(moment: datetime) -> str:
    """``YYYYMMDD'T'HHMMSS'Z'`` in UTC; a naive datetime is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    m = moment  # AMZ_DATE_FORMAT, without strftime's cost
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}Z"


def parse_amz_date(value: str, *, allow_http_date: bool = True) -> datetime:
    """Parse ``X-Amz-Date`` (ISO 8601 basic, ``20240101T000000Z``) into an aware UTC
    datetime. With ``allow_http_date`` also an HTTP ``Date`` header (RFC 7231 IMF-fixdate,
    RFC 850 or asctime, e.g. ``Mon, 01 Jan 2024 00:00:00 GMT``) as some SDKs send it.
    Raises ``AuthenticationError("incomplete")`` in AWS's words otherwise."""
    text = value.strip()
    if _AMZ_DATE_RE.fullmatch(text):
        try:  # by hand: strptime costs a fifth of a whole verification
            return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]),
                            int(text[11:13]), int(text[13:15]), tzinfo=timezone.utc)
        except ValueError:
            pass
    elif allow_http_date and text:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc)
    raise AuthenticationError(
        "incomplete",
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601")


# --------------------------------------------------------------------------- parsing


def parse_credential(value: str) -> tuple[str, CredentialScope]:
    """Split ``credential/date/region/service/terminator``."""
    parts = value.split("/")
    if len(parts) != 5:
        raise AuthenticationError(
            "incomplete",
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{value}'")
    credential, date, region, service, terminator = parts
    return credential, CredentialScope(date, region, service, terminator)


def _signed_header_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(";")]


def parse_authorization(value: str, *, date_present: bool = True) -> Authorization:
    """Parse ``ALG Credential=ID/SCOPE, SignedHeaders=a;b, Signature=HEX``.

    Separators may be ``,`` or ``, `` with any extra spaces; parameter order is free. The
    algorithm is not checked here (the verifiers do), so the X.509 variant parses too.
    With ``date_present=False`` the caller reports that neither ``X-Amz-Date`` nor ``Date``
    was sent, and that joins the missing-parameter message as AWS words it.
    """
    words = value.split(None, 1)
    algorithm = words[0] if words else ""
    rest = words[1] if len(words) > 1 else ""
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, param = part.partition("=")
        name = name.strip()
        if not eq:
            raise AuthenticationError(
                "incomplete",
                f"'{part}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{value}'.")
        if name in params:
            raise AuthenticationError(
                "incomplete", f"Authorization header has a duplicate '{name}' parameter. "
                              f"Authorization={value}")
        params[name] = param.strip()
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not params.get(name)]
    if not date_present:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' "
                       "or a 'Date' header.")
    if missing:
        raise AuthenticationError("incomplete", " ".join(missing) + f" Authorization={value}")
    credential, scope = parse_credential(params["Credential"])
    return Authorization(algorithm=algorithm, credential=credential, scope=scope,
                         signed_headers=_signed_header_list(params["SignedHeaders"]),
                         signature=params["Signature"])


def parse_query(raw_query: str) -> dict[str, list[str]]:
    """Decode a raw query into ``{name: [values in order]}`` (``+`` is a space)."""
    result: dict[str, list[str]] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        result.setdefault(_decode(name).decode("utf-8", "replace"), []).append(
            _decode(value).decode("utf-8", "replace"))
    return result


def has_presigned_parameters(query_params: Mapping[str, Sequence[str]]) -> bool:
    """Whether the query tries to carry a signature (``X-Amz-Date`` alone does not)."""
    return any(name in query_params for name in _PRESIGN_PARAMS[:4])


def parse_presigned(query_params: Mapping[str, Sequence[str]]) -> Authorization | None:
    """The presigned (query-string) form, or ``None`` when the query carries no signature
    parameters at all. A partial set raises ``AuthenticationError("incomplete")`` naming
    every missing parameter, as AWS does."""
    if not has_presigned_parameters(query_params):
        return None

    def one(name: str) -> str | None:
        values = query_params.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise AuthenticationError(
                "incomplete", f"AWS query-string parameter '{name}' must appear only once. "
                              "Re-examine the query-string parameters.")
        return values[0]

    found = {name: one(name) for name in _PRESIGN_PARAMS}
    missing = [f"AWS query-string parameters must include '{name}'."
               for name, v in found.items() if not v]
    if missing:
        raise AuthenticationError(
            "incomplete", " ".join(missing) + " Re-examine the query-string parameters.")
    expires: int | None = None
    raw_expires = one("X-Amz-Expires")
    if raw_expires is not None:
        if not (raw_expires.isascii() and raw_expires.isdigit()):  # "²" is a digit to str
            raise AuthenticationError(
                "incomplete", f"X-Amz-Expires should be a number, got '{raw_expires}'.")
        # thousands of digits would hit int()'s conversion limit: anything this long is
        # out of range anyway
        expires = int(raw_expires) if len(raw_expires) <= 12 else _MAX_EXPIRES + 1
        if not 1 <= expires <= _MAX_EXPIRES:
            raise AuthenticationError(
                "incomplete", "X-Amz-Expires must be between 1 and 604800 seconds "
                              f"(one week), got {expires}.")
    credential, scope = parse_credential(found["X-Amz-Credential"] or "")
    return Authorization(
        algorithm=found["X-Amz-Algorithm"] or "", credential=credential, scope=scope,
        signed_headers=_signed_header_list(found["X-Amz-SignedHeaders"] or ""),
        signature=found["X-Amz-Signature"] or "", amz_date=found["X-Amz-Date"],
        expires=expires, security_token=one("X-Amz-Security-Token"))
