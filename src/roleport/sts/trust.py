"""May this request assume this role? The checks STS makes before it issues anything,
shared by the built-in and the upstream issuer.

In order: the session name, source identity, session tags and session policies are
well formed; the role's trust policy allows ``sts:AssumeRole``, and ``sts:TagSession``
when there are tags, and ``sts:SetSourceIdentity`` when there is a source identity (each
evaluated with the request's context keys plus the ones STS adds); the duration fits the
role's ``MaxSessionDuration``; the packed session policies and tags fit.

Failures raise :class:`~roleport.sts.errors.AssumeRoleDenied` (AWS's wording, then a
reason that says what to fix but never quotes the trust policy). The statement that
decided, with the full explanation, goes to the server log.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from roleport.domain.session_tags import is_tag_text
from roleport.iam.policy import (
    MalformedPolicyError,
    RequestContext,
    effect_of,
    evaluate,
    parse_policy,
)
from roleport.sts.claims import ORIGIN_IDENTITY_PREFIX, OriginIdentity
from roleport.sts.errors import (
    AssumeRoleDenied,
    DurationTooLong,
    PackedPolicyTooLarge,
    SessionPolicyInvalid,
)

log = logging.getLogger("roleport.sts")

MIN_DURATION_SECONDS = 900
MAX_SESSION_TAGS = 50
MAX_POLICY_ARNS = 10
#: the budget, in compressed bytes, that PackedPolicySize is a percentage of (an estimate:
#: AWS does not publish its packing)
PACKED_BUDGET_BYTES = 2048
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\x21-\x7e]+")
ROLES_ANYWHERE = "rolesanywhere.amazonaws.com"


@dataclass(frozen=True)
class RoleFacts:
    """What the checks need to know about a role, from the registry or an upstream IAM."""

    arn: str
    role_id: str
    name: str
    account_id: str
    trust_policy: str
    max_session_duration: int


@dataclass(frozen=True)
class Ask:
    """The request, as the checks see it (the issuer contract's fields, flattened)."""

    account_id: str
    role_arn: str
    session_name: str
    duration_seconds: int
    source_identity: str | None
    session_tags: Sequence[tuple[str, str]]
    session_policy: str | None
    policy_arns: Sequence[str]
    principal_service: str
    principal_arn: str | None
    external_id: str | None
    context: Mapping[str, str | Sequence[str]]
    origin_identity: OriginIdentity | None = None


def _deny(role_arn: str, reason: str | None = None) -> AssumeRoleDenied:
    return AssumeRoleDenied(role_arn, reason)


def check_inputs(ask: Ask) -> None:
    """Well-formedness of what the caller chose (before any policy is read)."""
    arn = ask.role_arn
    if not _SESSION_NAME.fullmatch(ask.session_name):
        raise _deny(arn, "RoleSessionName must be 2 to 64 characters of letters, digits and "
                         "+=,.@_-.")
    if ask.source_identity is not None and not (
            2 <= len(ask.source_identity) <= 64 and is_tag_text(ask.source_identity)):
        raise _deny(arn, "SourceIdentity must be 2 to 64 characters of letters, digits, spaces "
                         "and _.:/=+-@.")
    if len(ask.session_tags) > MAX_SESSION_TAGS:
        raise _deny(arn, f"At most {MAX_SESSION_TAGS} session tags are allowed, not "
                         f"{len(ask.session_tags)}.")
    seen: set[str] = set()
    for key, value in ask.session_tags:
        if not (1 <= len(key) <= 128 and is_tag_text(key)) or not (
                len(value) <= 256 and is_tag_text(value)):
            raise _deny(arn, f"Session tag '{key}' is not a valid STS tag (key 1-128, value "
                             f"0-256 characters of letters, digits, spaces and _.:/=+-@).")
        if key.lower() in seen:
            raise _deny(arn, f"Session tag key '{key}' appears twice (keys are "
                             f"case-insensitive).")
        seen.add(key.lower())
    if len(ask.policy_arns) > MAX_POLICY_ARNS:
        raise _deny(arn, f"At most {MAX_POLICY_ARNS} managed session policies are allowed, "
                         f"not {len(ask.policy_arns)}.")
    for policy_arn in ask.policy_arns:
        if not _POLICY_ARN.fullmatch(policy_arn):
            raise _deny(arn, f"The managed session policy ARN {policy_arn} is not valid.")
    if ask.session_policy is not None:
        try:
            parse_policy(ask.session_policy, kind="session")
        except MalformedPolicyError as exc:
            raise SessionPolicyInvalid(arn, exc.message) from None


def packed_policy_percent(session_policy: str | None, policy_arns: Sequence[str],
                          session_tags: Sequence[tuple[str, str]]) -> int:
    """PackedPolicySize: the compressed session policies and tags, as a percentage of
    :data:`PACKED_BUDGET_BYTES`. 0 for a session without any. (Remembered: a profile's
    sessions repeat the same policies and, per certificate, the same tags.)"""
    return _packed_policy_percent(session_policy, tuple(policy_arns), tuple(session_tags))


@functools.lru_cache(maxsize=4096)
def _packed_policy_percent(session_policy: str | None, policy_arns: tuple[str, ...],
                           session_tags: tuple[tuple[str, str], ...]) -> int:
    if session_policy is None and not policy_arns and not session_tags:
        return 0
    policy = ""
    if session_policy is not None:
        policy = json.dumps(json.loads(session_policy), separators=(",", ":"))
    packed = "\n".join([policy, *policy_arns, *(f"{k}={v}" for k, v in session_tags)])
    size = len(zlib.compress(packed.encode("utf-8"), 9))
    return max(1, math.ceil(size * 100 / PACKED_BUDGET_BYTES))


def _context(ask: Ask, now: datetime) -> dict[str, str | Sequence[str]]:
    # aws:OriginIdentity/* come from the verified certificate only (ask.origin_identity),
    # whatever else put keys into the context: callers cannot set them
    reserved = ORIGIN_IDENTITY_PREFIX.lower()
    ctx: dict[str, str | Sequence[str]] = {k: v for k, v in ask.context.items()
                                           if not k.lower().startswith(reserved)}
    if ask.origin_identity is not None:
        ctx.update(ask.origin_identity.condition_keys())
    present = {k.lower() for k in ctx}

    def add(key: str, value: str | Sequence[str]) -> None:
        if key.lower() not in present:
            ctx[key] = value
            present.add(key.lower())

    add("aws:CurrentTime", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    add("aws:EpochTime", str(int(now.timestamp())))
    add("sts:RoleSessionName", ask.session_name)
    if ask.source_identity is not None:
        add("sts:SourceIdentity", ask.source_identity)
    for key, value in ask.session_tags:
        add(f"aws:RequestTag/{key}", value)
    if ask.session_tags:
        add("aws:TagKeys", [k for k, _ in ask.session_tags])
    if ask.external_id is not None:
        add("sts:ExternalId", ask.external_id)
    if ask.principal_arn is not None:
        add("aws:PrincipalArn", ask.principal_arn)
        parts = ask.principal_arn.split(":")
        if len(parts) > 4:
            add("aws:PrincipalAccount", parts[4])
    return ctx


def actions_for(ask: Ask) -> list[str]:
    actions = ["sts:AssumeRole"]
    if ask.session_tags:
        actions.append("sts:TagSession")
    if ask.source_identity is not None:
        actions.append("sts:SetSourceIdentity")
    return actions


def check_trust(role: RoleFacts, ask: Ask, now: datetime) -> None:
    """The role's trust policy must allow every action the request needs."""
    try:
        doc = parse_policy(role.trust_policy, kind="trust")
    except MalformedPolicyError as exc:
        log.warning("trust policy of %s does not parse: %s", role.arn, exc.message)
        raise _deny(ask.role_arn, "The role's trust policy cannot be read.") from None
    if ask.principal_arn is not None:
        principal, principal_type = ask.principal_arn, "AWS"
    else:
        principal, principal_type = ask.principal_service, "Service"
    request = RequestContext(action="", resource=role.arn, principal=principal,
                             principal_type=principal_type,
                             context=_context(ask, now))  # type: ignore[arg-type]
    for action in actions_for(ask):
        ctx = request.with_action(action)
        effect = effect_of([doc], ctx)
        if effect != "Allow":
            why = evaluate([doc], ctx).reason
            log.info("trust policy of %s refuses %s for %s (session %s): %s", role.arn, action,
                     principal, ask.session_name, why)
            how = "explicitly denies" if effect == "ExplicitDeny" else "does not allow"
            denied = _deny(ask.role_arn, f"The role's trust policy {how} {action} for this "
                                         f"request.")
            denied.detail = why  # for operators (audit trail, roleport explain), not callers
            raise denied
        if log.isEnabledFor(logging.DEBUG):
            log.debug("trust policy of %s allows %s: %s", role.arn, action,
                      evaluate([doc], ctx).reason)


def check_duration(role: RoleFacts, ask: Ask) -> None:
    if ask.duration_seconds < MIN_DURATION_SECONDS:
        raise _deny(ask.role_arn, f"The requested DurationSeconds is below the minimum of "
                                  f"{MIN_DURATION_SECONDS} seconds.")
    if ask.duration_seconds > role.max_session_duration:
        raise DurationTooLong(ask.role_arn)


def check_packed_size(ask: Ask) -> int:
    percent = packed_policy_percent(ask.session_policy, ask.policy_arns, ask.session_tags)
    if percent > 100:
        raise PackedPolicyTooLarge(ask.role_arn, percent)
    return percent


def check_all(role: RoleFacts, ask: Ask, now: datetime, *, same_account: bool) -> int:
    """Every check, in STS's order; returns the PackedPolicySize."""
    check_inputs(ask)
    if same_account and role.account_id != ask.account_id:
        log.info("refusing %s: the role is not in account %s", role.arn, ask.account_id)
        raise _deny(ask.role_arn)
    check_trust(role, ask, now)
    check_duration(role, ask)
    return check_packed_size(ask)
