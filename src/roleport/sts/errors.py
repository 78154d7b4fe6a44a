"""Why credentials were not issued, or a session token not accepted.

Hierarchy (bases in :mod:`roleport.errors`)::

    AccessDeniedError                  403 AccessDeniedException (Roles Anywhere's code)
    └── AssumeRoleDenied               "Unable to assume role for <roleArn>[. reason]"
        ├── SessionPolicyInvalid       the session policy does not parse
        ├── DurationTooLong            DurationSeconds above the role's MaxSessionDuration
        └── PackedPolicyTooLarge       session policies + tags over STS's packed limit
    ServiceUnavailableError            503, the upstream STS/IAM did not answer

    SessionTokenError                  (not a RoleportError: the auth layer translates it)
    ├── InvalidSessionToken            not ours, altered, unknown key id, wrong key pair
    └── ExpiredSessionToken            genuine but past its expiration

Each service re-labels ``AssumeRoleDenied`` with its own code at its boundary: CreateSession
keeps ``AccessDeniedException``; STS answers ``AccessDenied``, ``MalformedPolicyDocument``
``ValidationError`` or ``PackedPolicyTooLarge``.
"""

from __future__ import annotations

from roleport.errors import AccessDeniedError


class AssumeRoleDenied(AccessDeniedError):
    """AWS's wording, ``Unable to assume role for <roleArn>``, plus an optional reason that
    says what to fix without revealing the trust policy's contents."""

    def __init__(self, role_arn: str, reason: str | None = None) -> None:
        text = f"Unable to assume role for {role_arn}"
        if reason:
            text += f". {reason}"
        super().__init__(text)
        self.role_arn = role_arn
        self.reason = reason


class SessionPolicyInvalid(AssumeRoleDenied):
    def __init__(self, role_arn: str, detail: str) -> None:
        super().__init__(role_arn, f"The session policy is not valid: {detail}")
        self.detail = detail


class DurationTooLong(AssumeRoleDenied):
    MESSAGE = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."

    def __init__(self, role_arn: str) -> None:
        super().__init__(role_arn, self.MESSAGE)


class PackedPolicyTooLarge(AssumeRoleDenied):
    def __init__(self, role_arn: str, percent: int) -> None:
        super().__init__(role_arn, f"Packed policy consumes {percent}% of allotted space, "
                                   f"please use smaller policy.")
        self.percent = percent


class SessionTokenError(Exception):
    """A session token that cannot be used. The message never describes its content."""


class InvalidSessionToken(SessionTokenError):
    pass


class ExpiredSessionToken(SessionTokenError):
    pass
