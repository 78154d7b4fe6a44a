"""The Principal / NotPrincipal element: reading, checking and matching.

Forms: ``"*"``, or an object with ``AWS``, ``Service``, ``Federated`` and (resource
policies only) ``CanonicalUser`` entries, each a string or a list of strings.

Matching (:func:`principal_matches`):

* ``"*"`` matches anyone; ``{"AWS": "*"}`` matches any principal of type ``AWS``;
* an account (``123456789012`` or ``arn:aws:iam::123456789012:root``) matches every
  principal of that account;
* a role ARN also matches the sessions of that role
  (``arn:aws:sts::123456789012:assumed-role/NAME/session``);
* any other ARN, a service principal (case-insensitive), a federated provider or a
  canonical user matches that exact principal, and only principals of its type.

IAM also checks that a named user or role exists when the policy is saved; that needs
the role registry, so it is the caller's job (see ``aws_principal_arns``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .errors import MalformedPolicyError

PrincipalType = Literal["AWS", "Service", "Federated", "CanonicalUser"]

#: element key -> PrincipalType, in the order IAM documents them
PRINCIPAL_KEYS: dict[str, PrincipalType] = {
    "AWS": "AWS", "Service": "Service", "Federated": "Federated",
    "CanonicalUser": "CanonicalUser",
}

_ACCOUNT = re.compile(r"\d{12}")
_AWS_ARN = re.compile(
    r"arn:aws[a-z-]*:(?:iam::\d{12}:(?:root|(?:user|role)/[^*?]+)"
    r"|sts::\d{12}:(?:assumed-role/[^*?/]+/[^*?]+|federated-user/[^*?]+))")
_SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_FEDERATED = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(?:saml-provider|oidc-provider)/[^*?]+"
                        r"|[A-Za-z0-9][A-Za-z0-9.-]*(?:/[^*?\s]*)?")
_CANONICAL = re.compile(r"[0-9A-Za-z]+")
_CHECKS: dict[PrincipalType, re.Pattern[str]] = {
    "AWS": re.compile(rf"\*|{_ACCOUNT.pattern}|{_AWS_ARN.pattern}"),
    "Service": _SERVICE, "Federated": _FEDERATED, "CanonicalUser": _CANONICAL,
}
_SYNTAX = "Syntax errors in policy."


@dataclass(frozen=True)
class Principal:
    """A Principal or NotPrincipal element; ``anyone`` is the bare ``"*"`` form."""

    anyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()

    def entries(self) -> dict[PrincipalType, tuple[str, ...]]:
        pairs: dict[PrincipalType, tuple[str, ...]] = {
            "AWS": self.aws, "Service": self.service, "Federated": self.federated,
            "CanonicalUser": self.canonical_user}
        return {k: v for k, v in pairs.items() if v}

    def to_json(self) -> str | dict[str, list[str]]:
        if self.anyone:
            return "*"
        return {key: list(values) for key, values in self.entries().items()}

    def __str__(self) -> str:
        if self.anyone:
            return '"*"'
        return ", ".join(f"{k}: {', '.join(v)}" for k, v in self.entries().items())


def parse_principal(raw: object, *, trust: bool, element: str = "Principal") -> Principal:
    """Read a Principal element; ``trust`` applies the stricter role-trust rules."""
    if isinstance(raw, str):
        if raw == "*" and not trust:
            return Principal(anyone=True)
        if raw == "*":
            raise MalformedPolicyError('AssumeRolepolicy contained an invalid principal: '
                                       '"STAR":"*".')
        raise MalformedPolicyError("Principal must be a JSON object." if trust
                                   else "Invalid principal in policy")
    if not isinstance(raw, dict):
        raise MalformedPolicyError(_SYNTAX)
    if not raw:
        raise MalformedPolicyError(f"Missing required field {element}")
    found: dict[PrincipalType, tuple[str, ...]] = {}
    for key, value in raw.items():
        kind = PRINCIPAL_KEYS.get(key)
        if kind is None or (trust and kind == "CanonicalUser"):
            raise MalformedPolicyError(f'Invalid principal in policy: "{key}"')
        values = (value,) if isinstance(value, str) else value
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise MalformedPolicyError(_SYNTAX)
        if not values:
            raise MalformedPolicyError(f"Missing required field {element}")
        for v in values:
            if not _CHECKS[kind].fullmatch(v):
                label = "AWS" if kind == "AWS" else kind.upper()
                raise MalformedPolicyError(f'Invalid principal in policy: "{label}":"{v}"')
        found[kind] = tuple(values)
    return Principal(aws=found.get("AWS", ()), service=found.get("Service", ()),
                     federated=found.get("Federated", ()),
                     canonical_user=found.get("CanonicalUser", ()))


def infer_principal_type(who: str) -> PrincipalType:
    """Best guess when the caller did not say: services end in ``amazonaws.com``."""
    if who.startswith("arn:") or _ACCOUNT.fullmatch(who):
        return "AWS"
    if who.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return "Service"
    return "AWS"


def account_of(who: str) -> str | None:
    if _ACCOUNT.fullmatch(who):
        return who
    parts = who.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and _ACCOUNT.fullmatch(parts[4]):
        return parts[4]
    return None


def _aws_entry_matches(entry: str, who: str) -> bool:
    if entry == "*":
        return True
    if entry == who:
        return True
    if _ACCOUNT.fullmatch(entry) or entry.endswith(":root"):
        return account_of(who) == account_of(entry)
    parts = entry.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        role_name = parts[5].rsplit("/", 1)[-1]
        session_prefix = f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role_name}/"
        return who.startswith(session_prefix)
    return False


def principal_matches(principal: Principal, who: str | None,
                      kind: PrincipalType | None = None) -> bool:
    """Whether the request's principal ``who`` (of type ``kind``) is in ``principal``."""
    if principal.anyone:
        return True
    if who is None:
        return False
    kind = kind or infer_principal_type(who)
    if kind == "AWS":
        return any(_aws_entry_matches(entry, who) for entry in principal.aws)
    if kind == "Service":
        return who.lower() in (s.lower() for s in principal.service)
    if kind == "Federated":
        return who in principal.federated
    return who in principal.canonical_user


def aws_principal_arns(principal: Principal) -> tuple[str, ...]:
    """User and role ARNs named by ``principal`` (for an existence check by the caller)."""
    return tuple(e for e in principal.aws if e.startswith("arn:") and not e.endswith(":root"))
