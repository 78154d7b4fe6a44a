"""``roleport serve``'s limits: request size and timeouts, connections, failed-authentication
throttling, request rates, queueing and draining, and the resource quotas
(docs/security.md#limits). The command receives them as ``limits``, the Settings fields
they fill."""

from __future__ import annotations

from typing import Any

import click

from roleport.cli.options import option_group
from roleport.domain.quotas import Quotas
from roleport.server.connections import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_HEADER_TIMEOUT_SECONDS,
    DEFAULT_KEEP_ALIVE_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionLimits,
)
from roleport.server.ratelimit import Rate
from roleport.server.request_limits import RequestRates


class RateType(click.ParamType):
    """``RATE[/BURST]``: requests a second, and how many may come at once (default: the
    rate, at least 1); ``0`` or ``off`` turns the limit off."""

    name = "RATE[/BURST]"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        if value is None or isinstance(value, Rate):
            return value
        text = str(value).strip().lower()
        if text in ("0", "off", "none"):
            return None
        rate, _, burst = text.partition("/")
        try:
            per_second = float(rate)
            size = int(burst) if burst else max(1, int(per_second))
            return Rate(per_second, size)
        except ValueError:
            self.fail(f"{value!r} is not RATE[/BURST] (e.g. 10 or 10/20) or off", param, ctx)


def _rate_text(rate: Rate | None) -> str:
    return "off" if rate is None else f"{rate.per_second:g}/{rate.burst}"


_RATES = RequestRates()


def _rate_option(name: str, default: Rate | None, help_text: str):  # noqa: ANN202
    env = "ROLEPORT_" + name.upper().replace("-", "_")
    return click.option(f"--{name}", envvar=env, type=RateType(),
                        default=_rate_text(default), show_default=True,
                        help=help_text + " RATE[/BURST] a second, or off.")


_OPTIONS = [
    click.option("--max-body-bytes", envvar="ROLEPORT_MAX_BODY_BYTES", default=1024 * 1024,
                 show_default=True, type=click.IntRange(1024, 64 * 1024 * 1024),
                 help="Largest request body accepted."),
    click.option("--header-timeout", envvar="ROLEPORT_HEADER_TIMEOUT",
                 default=DEFAULT_HEADER_TIMEOUT_SECONDS, show_default=True,
                 type=click.FloatRange(0.1, 3600),
                 help="Seconds a client has to send a request's headers, from connecting or "
                   "from the previous response; then the connection is closed."),
    click.option("--body-timeout", envvar="ROLEPORT_BODY_TIMEOUT",
                 default=DEFAULT_BODY_TIMEOUT_SECONDS, show_default=True,
                 type=click.FloatRange(0.1, 3600),
                 help="Seconds a client has to send a request's body once its headers came; "
                   "then a 408 RequestTimeoutException and the connection is closed."),
    click.option("--keep-alive-timeout", envvar="ROLEPORT_KEEP_ALIVE_TIMEOUT",
                 default=DEFAULT_KEEP_ALIVE_SECONDS, show_default=True,
                 type=click.FloatRange(0.1, 3600),
                 help="Seconds an idle keep-alive connection stays open between requests."),
    click.option("--max-connections", envvar="ROLEPORT_MAX_CONNECTIONS",
                 default=DEFAULT_MAX_CONNECTIONS, show_default=True,
                 type=click.IntRange(1, 1_000_000),
                 help="Open connections per worker; one more is answered 503 and closed."),
    click.option("--auth-failure-rate", envvar="ROLEPORT_AUTH_FAILURE_RATE", default=2.0,
                 show_default=True, type=click.FloatRange(0, 10_000),
                 help="Failed authentications (wrong secret, unknown key, bad session token) "
                   "allowed per second per source address and per access key, after "
                   "--auth-failure-burst; more are throttled. 0 turns throttling off."),
    click.option("--auth-failure-burst", envvar="ROLEPORT_AUTH_FAILURE_BURST", default=10,
                 show_default=True, type=click.IntRange(1, 1_000_000),
                 help="Failed authentications allowed in a burst before --auth-failure-rate "
                   "applies."),
    _rate_option("create-session-rate-per-certificate", _RATES.create_session_per_certificate,
                 "CreateSession requests per certificate (AWS's CreateSession quota: 10 a "
                 "second), counted before any cryptography."),
    _rate_option("create-session-rate-per-source", _RATES.create_session_per_source,
                 "CreateSession requests per source address (IPv6 by /64)."),
    _rate_option("rolesanywhere-rate-per-key", _RATES.rolesanywhere_per_key,
                 "Roles Anywhere control-plane requests per access key and API family "
                 "(trust anchors, profiles, subjects, tagging, CRLs; AWS's quota: 1 a second "
                 "each)."),
    _rate_option("iam-rate-per-key", _RATES.iam_per_key,
                 "IAM requests per access key (AWS publishes no number; Roleport's default)."),
    _rate_option("sts-rate-per-key", _RATES.sts_per_key,
                 "STS requests per access key (AWS publishes no number; Roleport's default)."),
    click.option("--no-rate-limits", envvar="ROLEPORT_NO_RATE_LIMITS", is_flag=True,
                 help="Turn every request rate limit above off (failed-authentication "
                   "throttling stays: see --auth-failure-rate)."),
    click.option("--max-pending-requests", envvar="ROLEPORT_MAX_PENDING_REQUESTS", default=256,
                 show_default=True, type=click.IntRange(1, 1_000_000),
                 help="Requests one worker holds at once, running or waiting to run; one more "
                   "is answered 503 ServiceUnavailable at once instead of waiting."),
    click.option("--drain-timeout", envvar="ROLEPORT_DRAIN_TIMEOUT", default=5.0,
                 show_default=True, type=click.FloatRange(0, 3600),
                 help="On SIGTERM: seconds the requests being served have to finish (new "
                   "connections are refused at once); then the worker stops."),
    click.option("--quota-trust-anchors", envvar="ROLEPORT_QUOTA_TRUST_ANCHORS", default=50,
                 show_default=True, type=click.IntRange(1)),
    click.option("--quota-profiles", envvar="ROLEPORT_QUOTA_PROFILES", default=250,
                 show_default=True, type=click.IntRange(1)),
    click.option("--quota-crls-per-trust-anchor", envvar="ROLEPORT_QUOTA_CRLS_PER_TRUST_ANCHOR",
                 default=2, show_default=True, type=click.IntRange(1)),
    click.option("--quota-certificates-per-trust-anchor",
                 envvar="ROLEPORT_QUOTA_CERTIFICATES_PER_TRUST_ANCHOR", default=2,
                 show_default=True, type=click.IntRange(1)),
    click.option("--quota-roles-per-profile", envvar="ROLEPORT_QUOTA_ROLES_PER_PROFILE",
                 default=250, show_default=True, type=click.IntRange(1, 250)),
    click.option("--quota-mapping-rules-per-field",
                 envvar="ROLEPORT_QUOTA_MAPPING_RULES_PER_FIELD", default=50, show_default=True,
                 type=click.IntRange(1, 1000),
                 help="PutAttributeMapping: most rules for one certificate field (not an AWS "
                   "quota: AWS documents none)."),
    click.option("--quota-mapping-rules-per-profile",
                 envvar="ROLEPORT_QUOTA_MAPPING_RULES_PER_PROFILE", default=100,
                 show_default=True, type=click.IntRange(1, 3000),
                 help="Most attribute mapping rules of one profile, all fields together."),
]





def _settings(v: dict[str, Any]) -> dict[str, Any]:
    rates = RequestRates.off() if v["no_rate_limits"] else RequestRates(
        create_session_per_certificate=v["create_session_rate_per_certificate"],
        create_session_per_source=v["create_session_rate_per_source"],
        rolesanywhere_per_key=v["rolesanywhere_rate_per_key"],
        iam_per_key=v["iam_rate_per_key"], sts_per_key=v["sts_rate_per_key"])
    return {
        "max_body_bytes": v["max_body_bytes"],
        "connection_limits": ConnectionLimits(
            header_timeout_seconds=v["header_timeout"], body_timeout_seconds=v["body_timeout"],
            keep_alive_seconds=v["keep_alive_timeout"], max_connections=v["max_connections"]),
        "auth_failure_rate": v["auth_failure_rate"],
        "auth_failure_burst": v["auth_failure_burst"],
        "request_rates": rates,
        "max_pending_requests": v["max_pending_requests"],
        "drain_timeout_seconds": v["drain_timeout"],
        "quotas": Quotas(
            trust_anchors=v["quota_trust_anchors"], profiles=v["quota_profiles"],
            crls_per_trust_anchor=v["quota_crls_per_trust_anchor"],
            certificates_per_trust_anchor=v["quota_certificates_per_trust_anchor"],
            roles_per_profile=v["quota_roles_per_profile"],
            mapping_rules_per_field=v["quota_mapping_rules_per_field"],
            mapping_rules_per_profile=v["quota_mapping_rules_per_profile"]),
    }


#: the limit options; the command receives ``limits`` (Settings fields)
limit_options = option_group("limits", _OPTIONS, _settings)
