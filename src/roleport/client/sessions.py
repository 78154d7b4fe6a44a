"""The CreateSession client: sign ``POST /sessions`` with a :class:`Signer`, send it,
read the credentials.

On the wire it does what every server (AWS and Roleport) accepts (clients.md §7.1): the
ARNs in a compact JSON body, ``Content-Type: application/json``, signed headers
``content-type;host;x-amz-date;x-amz-x509[;x-amz-x509-chain]``, SHA-256, the decimal
serial, and a chain without the leaf or the root. The signature itself is
:func:`roleport.auth.x509.sign_x509_request`, the one the server's tests use.

Beyond the official helper:

* the endpoint is found like the AWS tools find it (:func:`resolve_endpoint`), and the
  ``--endpoint`` flag wins over the environment (the Go helper lets
  ``AWS_ENDPOINT_URL_ROLESANYWHERE`` override the flag);
* TLS trusts ``--ca-bundle`` / ``AWS_CA_BUNDLE``; proxies come from ``HTTPS_PROXY`` /
  ``NO_PROXY`` (as the Go helper does since 1.5, so ``--with-proxy`` changes nothing);
* retries: ``AWS_MAX_ATTEMPTS`` (default 3) for connection errors, 5xx and throttling,
  with exponential backoff and jitter, each attempt signed afresh;
* a clock-skew error is retried once with the server's ``Date`` as the clock;
* ``debug`` shows the canonical request, the string to sign and the response with the
  secrets redacted (the Go helper logs whole response bodies);
* every failure is a :class:`~roleport.client.errors.ClientError` saying what failed.
"""

from __future__ import annotations

import email.utils
import json
import os
import platform
import random
import re
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from roleport import __version__
from roleport.auth.sigv4 import canonical_request, payload_hash, string_to_sign
from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import sign_x509_request
from roleport.client.credentials import SessionCredentials
from roleport.client.errors import (
    ClientError,
    ConfigurationError,
    EndpointError,
    ServiceError,
    SignerError,
)
from roleport.client.signers import Signer

__all__ = [
    "DEFAULT_DURATION",
    "Endpoint",
    "SessionClient",
    "SessionRequest",
    "parse_arn_region",
    "resolve_endpoint",
]

DEFAULT_DURATION = 3600
MIN_DURATION, MAX_DURATION = 900, 43200
USER_AGENT = (f"roleport-signing-helper/{__version__} (python{platform.python_version()}; "
              f"{platform.system().lower()})")
_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                  r"(?P<account>\d{12}|):(?P<resource>.+)")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_SKEW_WORDS = ("signature expired", "not yet current", "request time", "clock")
_THROTTLE_STATUS = {429}
_REDACT = re.compile(r'("(?:secretAccessKey|sessionToken|SecretAccessKey|SessionToken|Token)"\s*:'
                     r'\s*")[^"]*(")')


def parse_arn_region(arn: str, *, what: str, resource: str | None = None,
                     service: str = "rolesanywhere") -> tuple[str, str]:
    """(partition, region) of an ARN; ConfigurationError if it is not one of ``service``."""
    match = _ARN.fullmatch(arn.strip())
    if match is None or match["service"] != service:
        raise ConfigurationError(f"{what} {arn!r} is not an ARN of {service}")
    if resource and not match["resource"].startswith(resource + "/"):
        raise ConfigurationError(f"{what} {arn!r} does not name a {resource}")
    return match["partition"], match["region"]


@dataclass(frozen=True)
class Endpoint:
    """Where and how to send CreateSession."""

    url: str
    region: str
    #: True (system trust), False (no verification) or a CA bundle path
    verify: bool | str = True
    #: honour HTTPS_PROXY/HTTP_PROXY/NO_PROXY
    use_proxy_env: bool = True
    timeout: float = 10.0
    max_attempts: int = 3

    @property
    def sessions_url(self) -> str:
        return self.url.rstrip("/") + "/sessions"


def resolve_endpoint(*, endpoint: str | None = None, region: str | None = None,
                     trust_anchor_arn: str | None = None, profile_arn: str | None = None,
                     ca_bundle: str | None = None, no_verify_ssl: bool = False,
                     use_proxy_env: bool = True, timeout: float = 10.0,
                     environ: Mapping[str, str] | None = None) -> Endpoint:
    """Work out endpoint, region and TLS trust as the AWS tools do.

    Region: ``region``, else the trust anchor ARN's. Endpoint: ``endpoint``, else
    ``AWS_ENDPOINT_URL_ROLESANYWHERE``, else ``AWS_ENDPOINT_URL`` (both ignored when
    ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``), else AWS's
    ``https://rolesanywhere[-fips].REGION.amazonaws.com``. Trust: ``no_verify_ssl``, else
    ``ca_bundle``, else ``AWS_CA_BUNDLE``, else the system store.
    """
    env = os.environ if environ is None else environ
    partition = "aws"
    anchor_region = profile_region = None
    if trust_anchor_arn:
        partition, anchor_region = parse_arn_region(trust_anchor_arn, what="--trust-anchor-arn",
                                                    resource="trust-anchor")
    if profile_arn:
        _, profile_region = parse_arn_region(profile_arn, what="--profile-arn",
                                             resource="profile")
    if anchor_region and profile_region and anchor_region != profile_region:
        raise ConfigurationError(f"trust anchor and profile regions don't match "
                                 f"({anchor_region} and {profile_region})")
    region = region or anchor_region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError("no region: pass --region or a --trust-anchor-arn with one")
    url = endpoint
    if not url and env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        url = env.get("AWS_ENDPOINT_URL_ROLESANYWHERE") or env.get("AWS_ENDPOINT_URL")
    if not url:
        fips = env.get("AWS_USE_FIPS_ENDPOINT", "").lower() == "true"
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        url = f"https://rolesanywhere{'-fips' if fips else ''}.{region}.{suffix}"
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"endpoint {url!r} is not an http(s) URL")
    verify: bool | str = True
    if no_verify_ssl:
        verify = False
    elif ca_bundle or env.get("AWS_CA_BUNDLE"):
        verify = ca_bundle or env["AWS_CA_BUNDLE"]
        if not os.path.isfile(verify):
            raise ConfigurationError(f"CA bundle {verify} does not exist")
    attempts = env.get("AWS_MAX_ATTEMPTS", "3")
    try:
        max_attempts = max(1, int(attempts))
    except ValueError:
        raise ConfigurationError(f"AWS_MAX_ATTEMPTS={attempts!r} is not a number") from None
    return Endpoint(url=url.rstrip("/"), region=region, verify=verify,
                    use_proxy_env=use_proxy_env, timeout=timeout, max_attempts=max_attempts)


@dataclass(frozen=True)
class SessionRequest:
    """What to ask CreateSession for."""

    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    duration_seconds: int = DEFAULT_DURATION
    role_session_name: str | None = None
    instance_properties: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        for name, flag, resource, service in (
                ("trust_anchor_arn", "--trust-anchor-arn", "trust-anchor", "rolesanywhere"),
                ("profile_arn", "--profile-arn", "profile", "rolesanywhere"),
                ("role_arn", "--role-arn", "role", "iam")):
            value = getattr(self, name)
            if not value:
                raise ConfigurationError(f"{flag} is required")
            parse_arn_region(value, what=flag, resource=resource, service=service)
        if not MIN_DURATION <= int(self.duration_seconds) <= MAX_DURATION:
            raise ConfigurationError(f"--session-duration must be between {MIN_DURATION} and "
                                     f"{MAX_DURATION} seconds, not {self.duration_seconds}")
        if self.role_session_name is not None and not _SESSION_NAME.fullmatch(
                self.role_session_name):
            raise ConfigurationError("--role-session-name must be 2 to 64 characters of "
                                     "letters, digits and +=,.@_-")

    def body(self) -> bytes:
        data: dict[str, Any] = {"durationSeconds": int(self.duration_seconds),
                                "profileArn": self.profile_arn, "roleArn": self.role_arn,
                                "trustAnchorArn": self.trust_anchor_arn}
        if self.role_session_name:
            data["roleSessionName"] = self.role_session_name
        if self.instance_properties:
            data["instanceProperties"] = dict(self.instance_properties)
        return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        try:
            context = ssl.create_default_context(cafile=verify if isinstance(verify, str)
                                                 else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot read CA bundle {verify}: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass
class _Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class SessionClient:
    """CreateSession for one signer, endpoint and request; :meth:`create_session` calls it.

    Thread-safe. ``debug`` receives diagnostic lines (secrets redacted).
    """

    signer: Signer
    endpoint: Endpoint
    request: SessionRequest
    debug: Callable[[str], None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = time.sleep
    _offset: timedelta = field(default=timedelta(0), init=False)
    _pool: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.request.trust_anchor_arn:
            _, anchor_region = parse_arn_region(self.request.trust_anchor_arn,
                                                what="--trust-anchor-arn")
            if anchor_region and anchor_region != self.endpoint.region:
                self._debug(f"note: signing for region {self.endpoint.region}; the trust "
                            f"anchor is in {anchor_region}")

    # -- public ----------------------------------------------------------------------------

    def create_session(self) -> SessionCredentials:
        """One CreateSession (with retries). Raises a ClientError subclass.

        The connection is closed afterwards: calls are minutes apart, and a kept-alive
        connection would only go stale (or hold up the server's graceful shutdown).
        """
        try:
            return self._create_session()
        finally:
            self.close()

    def _create_session(self) -> SessionCredentials:
        attempts = self.endpoint.max_attempts
        skew_retried = False
        last: ClientError | None = None
        attempt = 0
        while attempt < attempts:
            attempt += 1
            try:
                reply = self._send_once()
            except EndpointError as exc:
                if not exc.retryable:
                    raise
                last = exc
                self._debug(f"attempt {attempt}/{attempts} failed: {exc.message}")
                self._backoff(attempt, attempts)
                continue
            if 200 <= reply.status < 300:
                return self._credentials(reply)
            error = self._error(reply)
            if (reply.status == 403 and not skew_retried and self._correct_skew(reply, error)):
                skew_retried = True
                attempt -= 1
                continue
            if reply.status >= 500 or error.retryable:
                last = error
                self._debug(f"attempt {attempt}/{attempts} failed: {error.message}")
                self._backoff(attempt, attempts)
                continue
            raise error
        assert last is not None
        raise EndpointError(f"{last.message} (gave up after {attempts} attempts)")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
            self._pool = None

    # -- one request -----------------------------------------------------------------------

    def _debug(self, line: str) -> None:
        if self.debug is not None:
            self.debug(line)

    def _backoff(self, attempt: int, attempts: int) -> None:
        if attempt < attempts:
            self.sleep(min(20.0, 0.2 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))

    def _signed_request(self) -> tuple[str, list[tuple[str, str]], bytes]:
        url = self.endpoint.sessions_url
        parts = urlsplit(url)
        default_port = {"https": 443, "http": 80}[parts.scheme]
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port and parts.port != default_port:
            host = f"{host}:{parts.port}"
        body = self.request.body()
        with self.signer.lock:
            self.signer.refresh()
            now = self.clock() + self._offset
            self.signer.check_valid(now)
            unsigned = SigningRequest("POST", parts.path or "/sessions", "",
                                      [("content-type", "application/json"), ("host", host)],
                                      body)
            try:
                signed = sign_x509_request(unsigned, certificate=self.signer.certificate,
                                           sign=self.signer.sign, region=self.endpoint.region,
                                           now=now, chain=self.signer.chain,
                                           algorithm=self.signer.algorithm)
            except ClientError:
                raise
            except Exception as exc:  # noqa: BLE001 - a key that cannot sign (token gone...)
                raise SignerError(f"cannot sign with {self.signer.describe()}: {exc}") from None
        if self.debug is not None:
            self._debug_signing(signed)
        headers = list(signed.headers) + [("user-agent", USER_AGENT)]
        return url, headers, body

    def _debug_signing(self, signed: SigningRequest) -> None:
        auth = signed.header_values("authorization")[0]
        signed_names = re.search(r"SignedHeaders=([^,\s]+)", auth)
        names = signed_names.group(1).split(";") if signed_names else []
        creq = canonical_request(signed.method, signed.raw_path, signed.raw_query,
                                 signed.headers, names, payload_hash(signed.body), drop=())
        amz_date = signed.header_values("x-amz-date")[0]
        scope = f"{amz_date[:8]}/{self.endpoint.region}/rolesanywhere/aws4_request"
        algorithm = auth.split(" ", 1)[0]
        self._debug("---[ CANONICAL REQUEST ]---\n" + creq)
        self._debug("---[ STRING TO SIGN ]---\n" + string_to_sign(algorithm, amz_date, scope,
                                                                   creq))
        for name, value in signed.headers:
            shown = value if len(value) < 120 else value[:60] + f"...({len(value)} chars)"
            self._debug(f"{name}: {shown}")
        self._debug("")
        self._debug(signed.body.decode("utf-8", "replace"))

    def _pool_manager(self) -> Any:
        if self._pool is None:
            import urllib3

            context = _ssl_context(self.endpoint.verify)
            proxy = None
            if self.endpoint.use_proxy_env:
                host = urlsplit(self.endpoint.url).hostname or ""
                proxies = urllib.request.getproxies()
                scheme = urlsplit(self.endpoint.url).scheme
                if proxies.get(scheme) and not urllib.request.proxy_bypass(host):
                    proxy = proxies[scheme]
            kwargs: dict[str, Any] = {"retries": False, "timeout": urllib3.Timeout(
                connect=self.endpoint.timeout, read=self.endpoint.timeout)}
            if urlsplit(self.endpoint.url).scheme == "https":
                kwargs["ssl_context"] = context
            if proxy:
                self._debug(f"using proxy {proxy}")
                self._pool = urllib3.ProxyManager(proxy, **kwargs)
            else:
                self._pool = urllib3.PoolManager(**kwargs)
        return self._pool

    def _send_once(self) -> _Reply:
        import urllib3

        url, headers, body = self._signed_request()
        self._debug(f"POST {url}")
        try:
            response = self._pool_manager().request(
                "POST", url, body=body, headers=dict(headers), redirect=False,
                preload_content=True)
        except urllib3.exceptions.SSLError as exc:
            hint = ("pass --ca-bundle (or set AWS_CA_BUNDLE) with the server's CA"
                    if self.endpoint.verify is not False else "")
            verify_failed = "CERTIFICATE_VERIFY_FAILED" in str(exc) or "hostname" in str(exc)
            raise EndpointError(f"TLS failed with {self.endpoint.url}: {_reason(exc)}"
                                + (f"; {hint}" if hint else ""),
                                retryable=not verify_failed) from None
        except urllib3.exceptions.ProxyError as exc:
            raise EndpointError(f"proxy error reaching {self.endpoint.url}: {_reason(exc)}") \
                from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise EndpointError(f"cannot reach {self.endpoint.url}: {_reason(exc)}") from None
        reply = _Reply(response.status, {k.lower(): v for k, v in response.headers.items()},
                       response.data or b"")
        if self.debug is not None:
            self._debug(f"HTTP {reply.status} request id "
                        f"{reply.headers.get('x-amzn-requestid', '-')}")
            self._debug(_REDACT.sub(r"\1<redacted>\2", reply.body.decode("utf-8", "replace")))
        return reply

    # -- replies ---------------------------------------------------------------------------

    def _credentials(self, reply: _Reply) -> SessionCredentials:
        try:
            body = json.loads(reply.body or b"{}")
            if not isinstance(body, dict):
                raise EndpointError(f"CreateSession answered HTTP {reply.status} with a body "
                                    f"that is not a JSON object")
            return SessionCredentials.from_create_session(body)
        except ValueError as exc:
            raise EndpointError(f"CreateSession answered HTTP {reply.status} with an unreadable "
                                f"body: {exc}") from None

    @staticmethod
    def _error(reply: _Reply) -> ServiceError:
        code = reply.headers.get("x-amzn-errortype", "").split(":", 1)[0] or None
        message = None
        try:
            body = json.loads(reply.body) if reply.body else {}
            if isinstance(body, dict):
                code = code or str(body.get("__type") or body.get("code") or "") or None
                message = body.get("message") or body.get("Message")
        except ValueError:
            text = reply.body.decode("utf-8", "replace").strip()
            message = text[:300] or None
        if code and "#" in code:
            code = code.rsplit("#", 1)[1]
        request_id = reply.headers.get("x-amzn-requestid")
        detail = f"HTTP {reply.status}" + (f" {code}" if code else "") + \
                 (f", request id {request_id}" if request_id else "")
        text = f"CreateSession refused ({detail}): {message or 'no message'}"
        return ServiceError(text, code=code, status=reply.status, request_id=request_id)

    def _correct_skew(self, reply: _Reply, error: ServiceError) -> bool:
        message = error.message.lower()
        if not any(word in message for word in _SKEW_WORDS):
            return False
        date = reply.headers.get("date")
        if not date:
            return False
        try:
            server_now = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return False
        offset = server_now - self.clock()
        if abs(offset.total_seconds()) < 60:
            return False
        self._offset = offset
        self._debug(f"clock skew of {int(offset.total_seconds())} s: retrying with the "
                    f"server's clock")
        return True


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    while reason is not None and getattr(reason, "reason", None) is not None:
        reason = reason.reason
    text = str(reason or exc)
    errno = re.search(r"\[Errno -?\d+\] (.*)", text)
    if errno:
        return errno.group(1)
    return re.sub(r"<urllib3\.[^>]*>: |HTTPS?Connection\([^)]*\): ", "", text)
