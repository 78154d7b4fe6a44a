"""The ``POST /sessions`` provider (CreateSession): wire dict <-> domain call.

The pipeline routes a request signed ``AWS4-X509-*`` here after parsing and validating
it by our own service model (``spec/data/rolesanywhere-sessions``). This adapter:

* merges the ARNs from the body and the query string (the Go helper sends them in the
  query; a value in both places must be the same);
* reads the X.509 signature headers (:mod:`roleport.auth.x509`);
* runs :class:`~roleport.domain.sessions.SessionService` and shapes its result exactly as
  AWS does (§2.8), ``expiration`` to the second;
* hands the attempt's :class:`SessionAudit` (the check that decided and its reason, never
  a secret or a credential) to the outcome, from which the server writes the audit line
  and the audit trail's record; counts outcomes and leniencies in the metrics, and fills
  the access log's outcome.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roleport import arns
from roleport.auth.x509 import read_x509_request
from roleport.clock import Clock
from roleport.domain.freshness import ChangeCounter
from roleport.domain.revocation import CrlFetchError, DistributionPointCache, OcspChecker
from roleport.domain.sessions import (
    INVALID_SIGNATURE,
    SessionAudit,
    SessionRequest,
    SessionResult,
    SessionService,
    SessionSettings,
)
from roleport.errors import AccessDeniedError, AuthenticationError, RoleportError, ValidationError
from roleport.domain.spiffe import SpiffeBundles
from roleport.server.crl_fetcher import HttpCrlFetcher, HttpOcspFetcher, SpiffeBundleFetcher
from roleport.server.http import Request
from roleport.server.observability import Metrics

_ARNS = (("profileArn", "queryProfileArn"), ("roleArn", "queryRoleArn"),
         ("trustAnchorArn", "queryTrustAnchorArn"))


def _arns(params: dict[str, Any]) -> tuple[dict[str, str], bool]:
    """The three ARNs, from the body or the query string, and whether any came by query."""
    found: dict[str, str] = {}
    missing, conflicting, by_query = [], [], False
    for body_name, query_name in _ARNS:
        body, query = params.get(body_name), params.get(query_name)
        if body is not None and query is not None and body != query:
            conflicting.append(body_name)
        value = body if body is not None else query
        by_query |= body is None and query is not None
        if value is None:
            missing.append(body_name)
        else:
            found[body_name] = value
    problems = [f"Value null at '{name}' failed to satisfy constraint: Member must not be null"
                for name in missing]
    problems += [f"Value at '{name}' failed to satisfy constraint: the query string and the "
                 f"body give different values" for name in conflicting]
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise ValidationError(f"{len(problems)} validation {noun} detected: "
                              + "; ".join(problems))
    return found, by_query


def session_view(result: SessionResult) -> dict[str, Any]:
    """AWS's CreateSession response (§2.8): every field, always."""
    c = result.credentials
    return {
        "credentialSet": [{
            "assumedRoleUser": {"arn": c.assumed_role_arn, "assumedRoleId": c.assumed_role_id},
            "credentials": {
                "accessKeyId": c.access_key_id,
                "expiration": c.expiration.replace(microsecond=0),
                "secretAccessKey": c.secret_access_key,
                "sessionToken": c.session_token,
            },
            "packedPolicySize": c.packed_policy_size,
            "roleArn": result.role_arn,
            "sourceIdentity": c.source_identity,
        }],
        "subjectArn": result.subject_arn,
    }


#: checks after which the profile named by the request is known to exist
_BEFORE_PROFILE = (None, "input", "trust-anchor", "profile")


def metric_labels(audit: SessionAudit) -> tuple[str, str]:
    """The trust anchor and profile labels of an attempt: the resource id (or alias) once
    the resource is known to exist, else ``unknown``, so that what a caller invents never
    becomes a label (the cardinality stays that of the stored resources)."""
    anchor = profile = "unknown"
    if audit.account_id is not None:  # set once the trust anchor is found
        anchor = _resource_label(audit.trust_anchor_arn)
        if audit.check not in _BEFORE_PROFILE or audit.outcome == "issued":
            profile = _resource_label(audit.profile_arn)
    return anchor, profile


def _resource_label(arn: str | None) -> str:
    ref = arns.parse_roles_anywhere(arn or "")
    if ref is None:
        return "unknown"
    return ref.resource_id or f"alias/{ref.alias_name}"


class _CountedFetcher:
    """A CRL distribution point fetcher that counts its outcomes in the metrics."""

    def __init__(self, fetch: HttpCrlFetcher, metrics: Metrics) -> None:
        self._fetch = fetch
        self._metrics = metrics

    def __call__(self, url: str, /) -> bytes:
        try:
            body = self._fetch(url)
        except CrlFetchError:
            self._metrics.crl_fetch_done("failed")
            raise
        self._metrics.crl_fetch_done("ok")
        return body


class SessionsProvider:
    def __init__(self, sessions: SessionService, metrics: Metrics | None = None) -> None:
        self.sessions = sessions
        self.metrics = metrics

    def create_session(self, request: Request, match: Any, params: dict[str, Any],
                       outcome: Any) -> dict[str, Any]:
        """The pipeline's ``x509_handler``."""
        audit = SessionAudit()
        try:
            arns, by_query = _arns(params)
            if by_query:
                outcome.notes["arnsIn"] = "query"
            try:
                presented = read_x509_request(request.signing_request(),
                                              lenient=self.sessions.settings.lenient)
            except AuthenticationError as exc:
                # AWS's message echoes the Authorization header after "Authorization=";
                # the audit reason keeps the cause without the header
                audit.check = "signature"
                audit.reason = exc.message.split(" Authorization=", 1)[0]
                raise AccessDeniedError(INVALID_SIGNATURE) from None
            result = self.sessions.create_session(SessionRequest(
                credential=presented, trust_anchor_arn=arns["trustAnchorArn"],
                profile_arn=arns["profileArn"], role_arn=arns["roleArn"],
                duration_seconds=params.get("durationSeconds"),
                role_session_name=params.get("roleSessionName"),
                instance_properties=params.get("instanceProperties")), audit)
        except RoleportError as exc:
            if audit.check is None:
                audit.check, audit.reason = "input", exc.message
            self._finish(request, outcome, audit, exc.code)
            raise
        self._finish(request, outcome, audit, None)
        return session_view(result)

    def _finish(self, request: Request, outcome: Any, audit: SessionAudit,
                error_code: str | None) -> None:
        fields = audit.fields()
        outcome.session_audit = audit
        if audit.account_id:
            outcome.account_id = audit.account_id
        if audit.x509_subject:
            outcome.principal = audit.x509_subject
        outcome.notes.update({k: fields[k] for k in ("check", "leniencies", "subjectArn")
                              if k in fields})
        if self.metrics is not None:
            anchor, profile = metric_labels(audit)
            self.metrics.session_done(audit.outcome, audit.check, audit.leniencies,
                                      anchor, profile)


def build_sessions_provider(settings: Any, store: Any, clock: Clock, issuer: Any,
                            metrics: Metrics | None, *,
                            changes: ChangeCounter | None = None) -> SessionsProvider:
    """The CreateSession provider for ``settings`` (a :class:`roleport.config.Settings`)."""
    session_settings = SessionSettings(
        lenient=not settings.strict_signing,
        max_skew=timedelta(seconds=settings.max_clock_skew_seconds),
        invalid_tag_values=settings.invalid_tag_values)
    fetcher = HttpCrlFetcher(timeout=settings.crl_fetch_timeout_seconds,
                             max_bytes=settings.crl_fetch_max_bytes)
    counted = fetcher if metrics is None else _CountedFetcher(fetcher, metrics)
    ocsp = OcspChecker(HttpOcspFetcher(timeout=settings.ocsp_timeout_seconds),
                       max_skew=session_settings.max_skew)
    spiffe = None
    if settings.spiffe_bundles:
        ca = str(settings.spiffe_bundle_ca) if settings.spiffe_bundle_ca else None
        spiffe = SpiffeBundles(
            dict(entry.split("=", 1) for entry in settings.spiffe_bundles),
            SpiffeBundleFetcher(timeout=settings.crl_fetch_timeout_seconds, ca_file=ca),
            max_staleness=timedelta(seconds=settings.spiffe_max_staleness_seconds),
            default_refresh=timedelta(seconds=settings.spiffe_default_refresh_seconds))
    service = SessionService(store, clock, issuer, session_settings,
                             DistributionPointCache(counted), changes=changes, ocsp=ocsp,
                             spiffe=spiffe)
    return SessionsProvider(service, metrics)
