"""Errors raised while reading a policy document.

Hierarchy (the bases live in :mod:`roleport.errors`)::

    RoleportError
    └── ValidationError
        └── MalformedPolicyError      400 MalformedPolicyDocument
            └── PolicyTooLargeError   409 LimitExceeded

Catching :class:`MalformedPolicyError` catches both: a caller that only wants to
reject a bad document needs one ``except``. ``code`` is IAM's error code; a service
whose wire vocabulary differs (STS answers ``PackedPolicyTooLarge``) passes its own
``code`` when it re-raises. Evaluation never raises: a document that parsed can
always be evaluated.
"""

from __future__ import annotations

from roleport.errors import ValidationError


class MalformedPolicyError(ValidationError):
    """The document is not a valid IAM policy; ``message`` uses IAM's wording."""

    code = "MalformedPolicyDocument"
    status = 400


class PolicyTooLargeError(MalformedPolicyError):
    """The document is larger than the quota the caller asked to enforce."""

    code = "LimitExceeded"
    status = 409

    def __init__(self, quota_name: str, limit: int, *, code: str | None = None) -> None:
        super().__init__(f"Cannot exceed quota for {quota_name}: {limit}", code=code)
        self.quota_name = quota_name
        self.limit = limit
