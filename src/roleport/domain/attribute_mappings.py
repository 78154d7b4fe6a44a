"""Attribute mappings: which certificate fields become session tags (aws-behaviour §4.3)."""

from __future__ import annotations

from roleport.domain.model import AttributeMapping

FIELDS = ("x509Subject", "x509Issuer", "x509SAN")


def defaults() -> list[AttributeMapping]:
    return [AttributeMapping("x509Issuer", ["*"]),
            AttributeMapping("x509SAN", ["DNS", "URI", "Name/*"]),
            AttributeMapping("x509Subject", ["*"])]


def normalise_specifier(certificate_field: str, specifier: str) -> str:
    """``Name`` and ``Name/`` mean ``Name/*`` for the SAN directory name."""
    if certificate_field == "x509SAN" and specifier in ("Name", "Name/"):
        return "Name/*"
    return specifier


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def put(current: list[AttributeMapping], certificate_field: str,
        specifiers: list[str]) -> list[AttributeMapping]:
    """Replace the rules of one field, keeping the others (and the field's position)."""
    rules = _unique([normalise_specifier(certificate_field, s) for s in specifiers])
    result = [AttributeMapping(m.certificate_field, list(m.specifiers)) for m in current]
    for mapping in result:
        if mapping.certificate_field == certificate_field:
            mapping.specifiers = rules
            return result
    result.append(AttributeMapping(certificate_field, rules))
    return result


def delete(current: list[AttributeMapping], certificate_field: str,
           specifiers: list[str] | None) -> list[AttributeMapping]:
    """Remove given specifiers of a field, or the whole field when none are given.

    Specifiers the field does not have are ignored; a field left with no rule goes.
    """
    result = []
    for mapping in current:
        if mapping.certificate_field != certificate_field:
            result.append(AttributeMapping(mapping.certificate_field, list(mapping.specifiers)))
            continue
        if not specifiers:
            continue
        gone = {normalise_specifier(certificate_field, s) for s in specifiers}
        remaining = [s for s in mapping.specifiers if s not in gone]
        if remaining:
            result.append(AttributeMapping(certificate_field, remaining))
    return result
