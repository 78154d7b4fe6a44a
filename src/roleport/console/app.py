"""The web console's request handler: sign-in with an account's admin keys, read-only
pages of that account and Region, and enabling/disabling trust anchors and profiles
through the same domain services as the API.

``ConsoleApp.handle(request, outcome)`` is synchronous (the server runs it on a worker
thread) and never raises: every failure is a page with the right status.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from roleport import __version__
from roleport.auth.identities import AccessKeyLookup
from roleport.clock import Clock
from roleport.console import http, pages, timeline
from roleport.console.tokens import ConsoleSession, SessionTokens
from roleport.crypto.secrets import constant_time_equals
from roleport.domain.context import Caller, Scope
from roleport.errors import RoleportError, ThrottlingError
from roleport.server.auth_throttle import FailedAuthThrottle
from roleport.server.http import Request
from roleport.server.pipeline import Outcome
from roleport.spec.serializer import Response
from roleport.storage.base import StorageError
from roleport.sts.credentials import is_session_key

log = logging.getLogger("roleport.console")

_HERE = Path(__file__).parent
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_RESOURCE_ID = r"[a-f0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}"
_ACTION = re.compile(rf"/(trust-anchors|profiles)/({_RESOURCE_ID})/(enable|disable)")
#: compared against when the access key is unknown, so both paths cost the same
_NO_SECRET = "0" * 40

PAGES = {"/overview": "overview", "/trust-anchors": "trust_anchors", "/profiles": "profiles",
         "/roles": "roles", "/subjects": "subjects", "/expiry": "expiry"}
NAV = [("/overview", "Overview"), ("/trust-anchors", "Trust anchors"),
       ("/profiles", "Profiles"), ("/roles", "Roles"), ("/subjects", "Subjects"),
       ("/expiry", "Certificate expiry")]
_OPERATIONS = {"overview": "ViewOverview", "trust_anchors": "ViewTrustAnchors",
               "profiles": "ViewProfiles", "roles": "ViewRoles", "subjects": "ViewSubjects",
               "expiry": "ViewCertificateExpiry"}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.globals["version"] = __version__
    env.filters["iso"] = lambda v: v.astimezone(UTC).isoformat() if v else ""
    return env


@dataclass(frozen=True)
class Signed:
    """A request with a valid session: who, and the token its forms must carry."""

    session: ConsoleSession
    caller: Caller
    csrf: str


class ConsoleApp:
    def __init__(self, *, services: Any, actions: Any, lookup: AccessKeyLookup,
                 tokens: SessionTokens,
                 throttle: FailedAuthThrottle | None, clock: Clock, https: bool,
                 default_region: str) -> None:
        self.services = services
        #: the Roles Anywhere API provider: enable/disable go through its methods
        self.actions = actions
        self.lookup = lookup
        self.tokens = tokens
        self.throttle = throttle
        self.clock = clock
        self.https = https
        self.default_region = default_region
        self.session_cookie = ("__Secure-" if https else "") + "roleport_console"
        self.signin_cookie = ("__Secure-" if https else "") + "roleport_console_signin"
        self.env = _environment()
        self._static = {p.name: p.read_bytes() for p in (_HERE / "static").iterdir()
                        if p.suffix in _STATIC_TYPES}

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    # -- entry ---------------------------------------------------------------------

    def handle(self, request: Request, outcome: Outcome) -> Response:
        outcome.service = "console"
        try:
            return self._route(request, outcome)
        except StorageError as exc:
            log.error("console: storage failure: %s", exc)
            outcome.error_code = "ServiceUnavailable"
            return self._message(503, "Service unavailable",
                                 "The database did not answer. Retry shortly.",
                                 [("Retry-After", "1")])
        except Exception:
            log.exception("console: unexpected failure", extra={
                "request_id": request.request_id})
            outcome.error_code = "InternalFailure"
            return self._message(500, "Something went wrong",
                                 f"An internal error occurred. Request id: "
                                 f"{request.request_id}.")

    def _route(self, request: Request, outcome: Outcome) -> Response:
        path = request.raw_path[len(http.PREFIX):] or "/"
        if path.startswith("/static/"):
            return self._static_file(request, path.removeprefix("/static/"), outcome)
        if path == "/signin":
            outcome.operation = "SignIn"
            if request.method == "POST":
                return self._sign_in(request, outcome)
            if request.method in ("GET", "HEAD"):
                return self._sign_in_form(request)
            return self._not_allowed(outcome)
        signed = self._signed(request)
        if signed is not None:
            outcome.account_id = signed.session.account_id
            outcome.principal = signed.caller.principal_arn
        if request.method == "POST":
            return self._post(request, path, signed, outcome)
        if request.method not in ("GET", "HEAD"):
            return self._not_allowed(outcome)
        if path == "/":
            return http.redirect(http.PREFIX + ("/overview" if signed else "/signin"))
        name = PAGES.get(path)
        if name is None:
            outcome.error_code = "NotFound"
            return self._message(404, "Not found", "There is no such console page.", signed)
        outcome.operation = _OPERATIONS[name]
        if signed is None:
            return self._to_sign_in(request, path)
        return self._page(request, name, signed)

    def _not_allowed(self, outcome: Outcome) -> Response:
        outcome.error_code = "MethodNotAllowed"
        return self._message(405, "Method not allowed", "This page takes GET, and actions "
                             "take POST.", None, [("Allow", "GET, HEAD, POST")])

    # -- sessions ------------------------------------------------------------------

    def _secret_of(self, access_key_id: str) -> tuple[str, str] | None:
        credential = self.lookup(access_key_id, None)
        if credential is None:
            return None
        return credential.identity.account_id, credential.secret_access_key

    def _signed(self, request: Request) -> Signed | None:
        token = http.cookies(request).get(self.session_cookie)
        if not token:
            return None
        session = self.tokens.open(token, self._secret_of)
        credential = self.lookup(session.access_key_id, None) if session else None
        if session is None or credential is None:
            return None
        identity = credential.identity
        caller = Caller(Scope(session.account_id, session.region), identity.principal_arn,
                        identity.user_id)
        return Signed(session, caller, self.tokens.csrf_token(session))

    def _to_sign_in(self, request: Request, path: str) -> Response:
        target = http.PREFIX + path + (f"?{request.raw_query}" if request.raw_query else "")
        extra = []
        if http.cookies(request).get(self.session_cookie):  # forged, altered or expired
            extra.append(http.clear_cookie(self.session_cookie, secure=self.https))
        return http.redirect(f"{http.PREFIX}/signin?next={quote(target, safe='')}", extra)

    def _sign_in_form(self, request: Request, *, status: int = 200, error: str | None = None,
                      access_key_id: str = "", region: str | None = None,
                      next_path: str | None = None,
                      extra: list[tuple[str, str]] | None = None) -> Response:
        nonce = self.tokens.signin_nonce()
        next_path = next_path if next_path is not None else _safe_next(
            http.query_value(request, "next"))
        body = self.env.get_template("signin.html").render(
            title="Sign in", error=error, csrf=self.tokens.signin_csrf(nonce),
            access_key_id=access_key_id, region=region or self.default_region,
            next_path=next_path or "", prefix=http.PREFIX, signed=None, nav=[], current="")
        cookie = http.set_cookie(self.signin_cookie, nonce, max_age=900, secure=self.https)
        return http.html(status, body, [cookie, *(extra or [])])

    def _sign_in(self, request: Request, outcome: Outcome) -> Response:
        fields = http.form(request)
        if fields is None or not http.same_origin(request, self.scheme):
            outcome.error_code = "InvalidRequest"
            return self._message(403, "Request refused", "The sign-in did not come from "
                                 "the console's sign-in form.")
        key_id = fields.get("access_key_id", "").strip()
        region = fields.get("region", "").strip() or self.default_region
        next_path = _safe_next(fields.get("next"))

        def again(status: int, error: str, extra: list[tuple[str, str]] | None = None) -> \
                Response:
            outcome.error_code = {401: "InvalidClientTokenId", 403: "InvalidRequest",
                                  429: "Throttling", 400: "ValidationError"}.get(status)
            return self._sign_in_form(request, status=status, error=error,
                                      access_key_id=key_id if _KEY_ID.fullmatch(key_id)
                                      else "", region=region if _REGION.fullmatch(region)
                                      else None, next_path=next_path, extra=extra)

        if not self.tokens.check_signin_csrf(http.cookies(request).get(self.signin_cookie),
                                             fields.get("csrf_token")):
            return again(403, "The sign-in form expired or was not sent by this console. "
                              "Sign in again.")
        if not _REGION.fullmatch(region):
            return again(400, "The Region must look like us-east-1.")
        try:
            if self.throttle is not None:
                self.throttle.check_source(request.client)
            credential = self._check_keys(request, key_id, fields.get("secret_access_key", ""))
        except ThrottlingError as exc:
            return again(429, exc.message, [("Retry-After",
                                             str(exc.fields.get("retryAfterSeconds", 1)))])
        if credential is None:
            return again(401, "The access key ID or the secret access key is not correct, or "
                              "the key is not an account's admin key.")
        account_id, secret = credential
        token, _ = self.tokens.issue(key_id, account_id, region, secret)
        outcome.account_id = account_id
        outcome.principal = f"arn:aws:iam::{account_id}:root"
        outcome.notes["access_key_id"] = key_id
        return http.redirect(next_path or f"{http.PREFIX}/overview", [
            http.set_cookie(self.session_cookie, token, max_age=self.tokens.lifetime_seconds,
                            secure=self.https),
            http.clear_cookie(self.signin_cookie, secure=self.https)])

    def _check_keys(self, request: Request, key_id: str,
                    secret: str) -> tuple[str, str] | None:
        """(account id, secret) when the pair is an enabled admin key; failures count
        against the source address and the key (server/auth_throttle), as the API's do."""
        found = None
        if _KEY_ID.fullmatch(key_id) and not is_session_key(key_id) and len(secret) <= 256:
            found = self._secret_of(key_id)
        expected = found[1] if found else _NO_SECRET
        if found is not None and constant_time_equals(expected, secret):
            return found
        constant_time_equals(expected, secret)  # the unknown key costs the same
        if self.throttle is not None:
            self.throttle.failed(request.client, key_id if found else None,
                                 "signature" if found else "unknown-key")
        return None

    # -- actions -------------------------------------------------------------------

    def _post(self, request: Request, path: str, signed: Signed | None,
              outcome: Outcome) -> Response:
        if path == "/signout":
            outcome.operation = "SignOut"
        else:
            match = _ACTION.fullmatch(path)
            if match is None:
                outcome.error_code = "NotFound"
                return self._message(404, "Not found", "There is no such console action.",
                                     signed)
            kind, resource_id, verb = match.groups()
            outcome.operation = (verb.capitalize() +
                                 ("TrustAnchor" if kind == "trust-anchors" else "Profile"))
        if signed is None:
            outcome.error_code = "NotSignedIn"
            return self._message(403, "Not signed in", "Your session ended: sign in again, "
                                 "then repeat the action.", None,
                                 [http.clear_cookie(self.session_cookie, secure=self.https)])
        fields = http.form(request)
        if fields is None or not http.same_origin(request, self.scheme) or \
                not self.tokens.check_csrf(signed.session, fields.get("csrf_token")):
            outcome.error_code = "InvalidCsrfToken"
            return self._message(403, "Request refused", "The action did not carry this "
                                 "session's form token (CSRF). Reload the page and try again.",
                                 signed)
        if path == "/signout":
            return http.redirect(f"{http.PREFIX}/signin", [
                http.clear_cookie(self.session_cookie, secure=self.https)])
        return self._set_enabled(request, kind, resource_id, verb == "enable", signed,
                                 outcome)

    def _set_enabled(self, request: Request, kind: str, resource_id: str, enabled: bool,
                     signed: Signed, outcome: Outcome) -> Response:
        """The API's own EnableTrustAnchor/DisableProfile/...: its provider method, so
        what the API checks and records for them holds here too."""
        verb = "enable" if enabled else "disable"
        if kind == "trust-anchors":
            method, params = f"{verb}_trust_anchor", {"trustAnchorId": resource_id}
        else:
            method, params = f"{verb}_profile", {"profileId": resource_id}
        try:
            getattr(self.actions, method)(signed.caller, params)
        except RoleportError as exc:
            outcome.error_code = exc.code
            page = "trust_anchors" if kind == "trust-anchors" else "profiles"
            return self._page(request, page, signed, status=exc.status, error=exc.message)
        state = "enabled" if enabled else "disabled"
        return http.redirect(f"{http.PREFIX}/{kind}?changed={resource_id}&state={state}")

    # -- pages ---------------------------------------------------------------------

    def _page(self, request: Request, name: str, signed: Signed, *, status: int = 200,
              error: str | None = None) -> Response:
        reads = pages.AccountView(self.services.trust_anchors, self.services.profiles,
                              self.services.subjects, self.services.roles, signed.caller)
        now = self.clock.now()
        context: dict[str, Any] = {"now": now, "error": error}
        context.update(getattr(self, f"_context_{name}")(request, reads, now))
        body = self.env.get_template(f"{name}.html").render(
            signed=signed, csrf=signed.csrf, nav=NAV, current="/" + name.replace("_", "-"),
            prefix=http.PREFIX, account_id=signed.session.account_id,
            region=signed.session.region, states=timeline.STATE_LABELS, **context)
        return http.html(status, body)

    def _context_overview(self, request: Request, reads: pages.AccountView,
                          now: datetime) -> dict[str, Any]:
        return {"title": "Overview", "summary": reads.overview(now)}

    def _context_trust_anchors(self, request: Request, reads: pages.AccountView,
                               now: datetime) -> dict[str, Any]:
        anchors = reads.anchors()
        return {"title": "Trust anchors", "anchors": [
            (a, reads.anchor_certificates(a)) for a in anchors],
            "changed": _changed(request, anchors)}

    def _context_profiles(self, request: Request, reads: pages.AccountView,
                          now: datetime) -> dict[str, Any]:
        profiles = reads.profile_list()
        return {"title": "Profiles", "profiles": profiles,
                "changed": _changed(request, profiles)}

    def _context_roles(self, request: Request, reads: pages.AccountView,
                       now: datetime) -> dict[str, Any]:
        return {"title": "Roles", "roles": pages.role_rows(reads.role_list())}

    def _context_subjects(self, request: Request, reads: pages.AccountView,
                          now: datetime) -> dict[str, Any]:
        token = http.query_value(request, "page")
        try:
            subjects, next_token = reads.subject_page(token)
        except RoleportError:
            subjects, next_token = reads.subject_page(None)
        return {"title": "Subjects", "subjects": subjects, "next_token": next_token,
                "refusals": pages.refusals(subjects)}

    def _context_expiry(self, request: Request, reads: pages.AccountView,
                        now: datetime) -> dict[str, Any]:
        horizon = http.query_value(request, "horizon") or timeline.DEFAULT_HORIZON
        if horizon not in timeline.HORIZONS:
            horizon = timeline.DEFAULT_HORIZON
        chart = timeline.build(reads.expiry_entries(now), now, horizon)
        return {"title": "Certificate expiry", "chart": chart, "horizon": horizon,
                "horizons": [("90", "90 days"), ("365", "1 year"), ("1825", "5 years"),
                             ("all", "Everything")],
                "recent_days": pages.RECENT_LEAF_DAYS}

    # -- the rest ------------------------------------------------------------------

    def _message(self, status: int, title: str, message: str, signed: Signed | None = None,
                 extra: list[tuple[str, str]] | None = None) -> Response:
        body = self.env.get_template("message.html").render(
            title=title, message=message, signed=signed, csrf=signed.csrf if signed else "",
            nav=NAV if signed else [], current="", prefix=http.PREFIX,
            account_id=signed.session.account_id if signed else "",
            region=signed.session.region if signed else "")
        return http.html(status, body, extra)

    def _static_file(self, request: Request, name: str, outcome: Outcome) -> Response:
        outcome.operation = "Static"
        data = self._static.get(name)
        if data is None or request.method not in ("GET", "HEAD"):
            outcome.error_code = "NotFound"
            return self._message(404, "Not found", "There is no such file.")
        return Response(200, http.static_headers(_STATIC_TYPES[Path(name).suffix]), data)


def _safe_next(value: str | None) -> str | None:
    """Only a console path may be the target after sign-in (no open redirect)."""
    if not value or not value.startswith(http.PREFIX + "/") or "//" in value or \
            "\\" in value or len(value) > 512 or value.startswith(http.PREFIX + "/signin"):
        return None
    return value


def _changed(request: Request, resources: list[Any]) -> tuple[Any, str] | None:
    """The resource a redirect after an action names, with its new state."""
    changed, state = http.query_value(request, "changed"), http.query_value(request, "state")
    if not changed or state not in ("enabled", "disabled"):
        return None
    for resource in resources:
        if resource.id == changed:
            return resource, state
    return None

