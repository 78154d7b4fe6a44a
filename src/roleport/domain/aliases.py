"""Alias rules beyond the model's pattern: the reserved prefix and uniqueness."""

from __future__ import annotations

from roleport.errors import ValidationError

RESERVED_PREFIX = "aws/"


def normalise(alias_name: str | None) -> str | None:
    """``None``/``""`` mean no alias on create; validate the rest."""
    if not alias_name:
        return None
    if alias_name.lower().startswith(RESERVED_PREFIX):
        raise ValidationError(f"Alias name '{alias_name}' is reserved: names beginning with "
                              f"'aws/' are reserved for AWS.")
    return alias_name


def taken(resource_label: str, alias_name: str) -> ValidationError:
    return ValidationError(f"Alias name '{alias_name}' is already used by another "
                           f"{resource_label} in this account and Region.")
