"""Input members of the served models that Roleport does not implement: refused by name.

A botocore release can add a member to an operation Roleport serves; the provider would
then never read it, and the caller would believe it took effect. Every such member is
declared here instead, with the reason, and a request that sets it is answered
``400 ValidationException`` (``ValidationError`` on IAM/STS) naming it::

    The parameter TransitiveTagKeys of AssumeRole is not supported by Roleport: role
    chaining is not supported.

One place, no per-operation code: the pipeline calls :func:`refuse_unsupported` after
validation. ``tests/e2e/test_model_coverage.py`` sends every member of every operation
of the installed models; a member that is neither honoured (stored and returned, or
acted on) nor declared here fails it, so the next such gap cannot go unnoticed.

Paths are member names joined by ``.``; a list is walked item by item
(``notificationSettings.channel``).
"""

from __future__ import annotations

from typing import Any

from roleport.errors import ValidationError

__all__ = ["UNSUPPORTED", "refuse_unsupported"]

_NO_CHAINING = "role chaining is not supported"
_NO_MFA = "Roleport has no MFA devices"

#: service -> operation -> member path -> why it is not supported
UNSUPPORTED: dict[str, dict[str, dict[str, str]]] = {
    "sts": {
        "AssumeRole": {
            "TransitiveTagKeys": _NO_CHAINING,
            "SerialNumber": _NO_MFA,
            "TokenCode": _NO_MFA,
            "ProvidedContexts": "trusted context assertions are signed by AWS STS and "
                                "cannot be verified here; Roleport sets "
                                "aws:OriginIdentity/* only from certificates (profile "
                                "tipConfiguration)",
            "MinimumSessionTokenSize": "session tokens are not padded",
        },
    },
}


def _is_set(value: Any, path: list[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, list):
        return any(_is_set(item, path) for item in value)
    if not path:
        return True
    if not isinstance(value, dict):
        return False
    return _is_set(value.get(path[0]), path[1:])


def refuse_unsupported(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise ValidationError naming the first declared-unsupported member ``params`` sets."""
    for path, why in UNSUPPORTED.get(service, {}).get(operation, {}).items():
        if _is_set(params, path.split(".")):
            raise ValidationError(f"The parameter {path} of {operation} is not supported by "
                                  f"Roleport: {why}.")
