"""What IAM checks in a policy beyond JSON syntax, per policy kind, with its wording.

The messages are IAM's, as AWS returns them (collected from CloudTrail records and
error reports, and from emulators that compare themselves with AWS). Where AWS was
never seen answering a case, the closest known message is used. The order of
:func:`check` is the order IAM reports problems in: principal, version, "legacy
parsing", Sids, actions, resources, resource format, action format.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .conditions import parse_date
from .errors import MalformedPolicyError
from .patterns import glob_match
from .principals import parse_principal

if TYPE_CHECKING:
    from .document import PolicyKind, Statement

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"


@dataclass(frozen=True)
class Wording:
    invalid_json: str = SYNTAX
    invalid_version: str = SYNTAX
    empty_statement: str = SYNTAX
    missing_effect: str = SYNTAX
    invalid_effect: str = SYNTAX  # may use {effect}
    duplicate_sid: str = "Statement IDs (SID) in a single policy must be unique."
    missing_action: str = "Policy statement must contain actions."
    missing_resource: str = "Policy statement must contain resources."


_IDENTITY = Wording()
_TRUST = Wording(
    invalid_json="This policy contains invalid Json",
    invalid_version="The policy must contain a valid version string",
    empty_statement="Could not parse the policy: Statement is empty!",
    missing_effect="Missing required field Effect",
    invalid_effect="Invalid effect: {effect}",
    duplicate_sid="The Statement Ids in the policy are not unique",
    missing_action="Missing required field Action",
)
_RESOURCE = Wording(missing_action="Missing required field Action",
                    missing_resource="Missing required field Resource")
WORDING: dict[str, Wording] = {
    "identity": _IDENTITY, "session": _IDENTITY, "trust": _TRUST, "resource": _RESOURCE}

NO_PRINCIPAL = "Policy document should not specify a principal."
VERSION_REQUIRED = "Policy document must be version 2012-10-17 or greater."
SID_CHARSET = ("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies "
               "the regular expression [0-9A-Za-z]*")
NO_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
TRUST_ACTIONS_ONLY = "AssumeRole policy may only specify STS AssumeRole actions."
TRUST_NO_RESOURCE = "Has prohibited field Resource"
TRUST_NO_NOT_RESOURCE = "AssumeRole policy must not contain resources."
TRUST_NO_NOT_PRINCIPAL = "AssumeRole policy must not contain NotPrincipal field."
ALLOW_NOT_PRINCIPAL = "Allow with NotPrincipal is not allowed."

#: actions a role trust policy may name (sts:AssumeRole and its companions)
TRUST_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
                 "sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e",
              "aws-iso-f", "aws-eusc")

_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[a-zA-Z0-9\-.]+")


def check(statements: Sequence[Statement], raw_principals: Sequence[tuple[Any, Any]], *,
          kind: PolicyKind, version: str | None, require_current_version: bool
          ) -> tuple[Statement, ...]:
    """Apply IAM's rules for ``kind``; returns the statements with principals read."""
    wording = WORDING[kind]
    out = tuple(_principals(s, raw, kind) for s, raw in zip(statements, raw_principals,
                                                              strict=True))
    if require_current_version and version != "2012-10-17":
        raise MalformedPolicyError(VERSION_REQUIRED)
    resource_error = _legacy(out, kind, variables=version == "2012-10-17")
    _sids(out, kind, wording)
    for s in out:
        if not (s.action or s.not_action):
            raise MalformedPolicyError(wording.missing_action)
    for s in out:
        _resources_present(s, kind, wording)
    if resource_error:
        raise MalformedPolicyError(resource_error)
    for s in out:
        for action in (s.action or ()) + (s.not_action or ()):
            _action_format(action, trust=kind == "trust")
    return out


def _principals(s: Statement, raw: tuple[Any, Any], kind: PolicyKind) -> Statement:
    principal, not_principal = raw
    if kind in ("identity", "session"):
        if principal is not None or not_principal is not None:
            raise MalformedPolicyError(NO_PRINCIPAL)
        return s
    trust = kind == "trust"
    if not_principal is not None and trust:
        raise MalformedPolicyError(ALLOW_NOT_PRINCIPAL if s.effect.lower() == "allow"
                                   else TRUST_NO_NOT_PRINCIPAL)
    if principal is None and not_principal is None:
        raise MalformedPolicyError("Missing required field Principal")
    if principal is not None:
        return replace(s, principal=parse_principal(principal, trust=trust))
    return replace(s, not_principal=parse_principal(not_principal, trust=trust,
                                                    element="NotPrincipal"))


def _legacy(statements: Sequence[Statement], kind: PolicyKind, *, variables: bool) -> str | None:
    """Raise IAM's "legacy parsing" failures; return the first resource-format error."""
    first_error: str | None = None
    for s in statements:
        if s.effect not in ("Allow", "Deny"):
            raise MalformedPolicyError(LEGACY)
        for cond in s.conditions:
            if cond.operator.is_date:
                for value in cond.values:
                    if parse_date(value) is None and not (variables and "${" in value):
                        raise MalformedPolicyError(LEGACY)
        if kind == "trust":
            continue
        for resource in sorted((s.resource or ()) + (s.not_resource or ()), reverse=True):
            problem = resource_problem(resource)
            if problem == LEGACY:
                raise MalformedPolicyError(LEGACY)
            first_error = first_error or problem
    return first_error


def resource_problem(resource: str) -> str | None:
    """IAM's complaint about one Resource value, :data:`LEGACY`, or None."""
    if resource == "*":
        return None
    parts = resource.split(":")
    if len(parts) < 2 or parts[0] != "arn":
        return f'Resource {resource} must be in ARN format or "*".'
    partition, rest = parts[1], parts[2:]
    if partition not in PARTITIONS:
        shown = [rest[0] if rest and (rest[0] or len(rest) > 1) else "*",
                 rest[1] if len(rest) > 1 else "*", rest[2] if len(rest) > 2 else "*",
                 ":".join(rest[3:]) if len(rest) > 3 else "*"]
        return (f'Partition "{partition}" is not valid for resource '
                f'"arn:{partition}:{":".join(shown)}".')
    if not rest:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service = rest[0]
    if not service or ("::" in resource and len(parts) < 6):
        return LEGACY
    if "*" in service or "?" in service:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    region = rest[1] if len(rest) > 1 else ""
    if service == "iam" and region:
        return f"IAM resource {resource} cannot contain region information."
    if service == "s3" and region:
        return f"Resource {resource} can not contain region information."
    return None


def _sids(statements: Sequence[Statement], kind: PolicyKind, wording: Wording) -> None:
    seen: set[str] = set()
    for s in statements:
        if not s.sid:
            continue
        if kind in ("identity", "session") and not _SID.fullmatch(s.sid):
            raise MalformedPolicyError(SID_CHARSET)
        if s.sid in seen:
            raise MalformedPolicyError(wording.duplicate_sid)
        seen.add(s.sid)


def _resources_present(s: Statement, kind: PolicyKind, wording: Wording) -> None:
    if kind == "trust":
        if s.resource is not None:
            raise MalformedPolicyError(TRUST_NO_RESOURCE)
        if s.not_resource is not None:
            raise MalformedPolicyError(TRUST_NO_NOT_RESOURCE)
    elif not (s.resource or s.not_resource):
        raise MalformedPolicyError(wording.missing_resource)


def _action_format(action: str, *, trust: bool) -> None:
    if action == "*":
        return
    parts = action.split(":")
    if len(parts) == 1:
        raise MalformedPolicyError(NO_VENDOR)
    if len(parts) > 2:
        raise MalformedPolicyError(ONE_COLON)
    if not _VENDOR.fullmatch(parts[0]):
        raise MalformedPolicyError(f"Vendor {parts[0]} is not valid")
    if trust and not any(glob_match(action, a, ignore_case=True) for a in TRUST_ACTIONS):
        raise MalformedPolicyError(TRUST_ACTIONS_ONLY)
