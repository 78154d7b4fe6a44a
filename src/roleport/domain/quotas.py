"""Service quotas, AWS's defaults, each configurable (``roleport serve --quota-...``)."""

from __future__ import annotations

from dataclasses import dataclass

from roleport.errors import ValidationError


@dataclass(frozen=True)
class Quotas:
    trust_anchors: int = 50
    profiles: int = 250
    crls_per_trust_anchor: int = 2
    certificates_per_trust_anchor: int = 2
    roles_per_profile: int = 250
    tags_per_resource: int = 50
    #: not AWS quotas (AWS documents none): Roleport's bounds on attribute mapping rules,
    #: set where they cannot bind a real profile (a session carries at most 50 tags)
    mapping_rules_per_field: int = 50
    mapping_rules_per_profile: int = 100


def exceeded(name: str, limit: int, detail: str = "") -> ValidationError:
    extra = f" {detail}" if detail else ""
    return ValidationError(f"Quota exceeded: {name} (limit {limit}).{extra}")
