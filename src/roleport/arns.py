"""Amazon Resource Names: building and reading the ones Roleport deals in.

Roles Anywhere resources: ``arn:aws:rolesanywhere:REGION:ACCOUNT:TYPE/ID`` with TYPE in
``trust-anchor``, ``profile``, ``crl``, ``subject``; aliases
``arn:aws:rolesanywhere:REGION:ACCOUNT:alias/TYPE/NAME``. IAM roles
``arn:aws:iam::ACCOUNT:role/PATH/NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTITION = "aws"
ROLES_ANYWHERE = "rolesanywhere"
RESOURCE_TYPES = ("trust-anchor", "profile", "crl", "subject")
ALIAS_TYPES = ("trust-anchor", "profile", "crl")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse(text: str) -> Arn | None:
    """Split an ARN into its parts, or None when the text is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1].startswith("aws"):
        return None
    return Arn(*parts[1:])


def resource_arn(region: str, account: str, resource_type: str, resource_id: str) -> str:
    return f"arn:{PARTITION}:{ROLES_ANYWHERE}:{region}:{account}:{resource_type}/{resource_id}"


def alias_arn(region: str, account: str, resource_type: str, alias_name: str) -> str:
    return f"arn:{PARTITION}:{ROLES_ANYWHERE}:{region}:{account}:alias/{resource_type}/{alias_name}"


@dataclass(frozen=True)
class ResourceRef:
    """What a Roles Anywhere ARN points at: a resource by id, or one by alias name."""

    region: str
    account: str
    resource_type: str
    resource_id: str | None = None
    alias_name: str | None = None


def parse_roles_anywhere(text: str) -> ResourceRef | None:
    arn = parse(text)
    if arn is None or arn.service != ROLES_ANYWHERE:
        return None
    kind, _, rest = arn.resource.partition("/")
    if kind == "alias":
        alias_type, _, name = rest.partition("/")
        if alias_type in ALIAS_TYPES and name:
            return ResourceRef(arn.region, arn.account, alias_type, alias_name=name)
        return None
    if kind in RESOURCE_TYPES and rest and "/" not in rest:
        return ResourceRef(arn.region, arn.account, kind, resource_id=rest)
    return None


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:{PARTITION}:iam::{account}:role{path}{name}"
