"""One error vocabulary for all of Roleport.

Every error a client may see is a :class:`RoleportError`. Its ``code`` is the AWS error
code (``ValidationException``, ``NoSuchEntity``...). The HTTP ``status`` is taken from
the service model when the model declares the code, so ``status`` here is only the
fallback for codes the model does not know (authentication errors, internal failures).

Hierarchy::

    RoleportError
    ├── ValidationError            400 ValidationException
    ├── NotFoundError              404 ResourceNotFoundException
    ├── AccessDeniedError          403 AccessDeniedException
    ├── TooManyTagsError           400 TooManyTagsException
    ├── ConflictError              409 ConflictException
    ├── RetryLaterError            (retry_after_seconds, sent as Retry-After)
    │   ├── ServiceUnavailableError    503 ServiceUnavailableException (query: ServiceUnavailable)
    │   └── ThrottlingError            429 ThrottlingException (400 Throttling on query APIs)
    ├── AuthenticationError        403, code chosen per protocol family (see auth/)
    └── InternalError              500 InternalFailure

Domain code raises these with a plain-language message; it never chooses a status.
``message`` is for the caller and is in Roleport's (or AWS's) words only; what a library
said about the failure goes to ``detail``, which the server logs and never sends.
Services whose wire vocabulary differs (IAM's ``NoSuchEntity`` for a missing role) pass
their own ``code`` to the same classes.
"""

from __future__ import annotations


class RoleportError(Exception):
    """An error with an AWS error code and a message meant for the caller."""

    code: str = "InternalFailure"
    status: int = 500
    #: sender (client) fault; False for server faults
    sender_fault: bool = True
    #: the code and status on query-protocol services (IAM, STS) when they differ
    query_code: str | None = None
    query_status: int | None = None

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 detail: str | None = None, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        #: the precise cause (a library's own words, a parser position) for the server log
        #: and the audit trail; never sent to the caller
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        #: extra members of the error structure, by wire name (e.g. ``retryAfterSeconds``)
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}: {self.message})"


class ValidationError(RoleportError):
    code = "ValidationException"
    status = 400


class NotFoundError(RoleportError):
    code = "ResourceNotFoundException"
    status = 404


class AccessDeniedError(RoleportError):
    code = "AccessDeniedException"
    status = 403


class TooManyTagsError(RoleportError):
    code = "TooManyTagsException"
    status = 400


class ConflictError(RoleportError):
    code = "ConflictException"
    status = 409


class LimitExceededError(RoleportError):
    code = "LimitExceededException"
    status = 409


class RetryLaterError(RoleportError):
    """An error the caller may retry after ``retry_after_seconds`` (``Retry-After``)."""

    def __init__(self, message: str, *, retry_after_seconds: int | None = None,
                 **kw: object) -> None:
        if retry_after_seconds is not None:
            kw.setdefault("retryAfterSeconds", retry_after_seconds)
        super().__init__(message, **kw)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailableError(RetryLaterError):
    """The server cannot answer now (database unreachable, overloaded): SDKs retry. JSON
    services answer 503 ``ServiceUnavailableException``; query services (IAM, STS) 503
    ``ServiceUnavailable``."""

    code = "ServiceUnavailableException"
    status = 503
    sender_fault = False
    query_code = "ServiceUnavailable"
    query_status = 503


class ThrottlingError(RetryLaterError):
    """Too many requests (or failed attempts): SDKs back off and retry. JSON services
    answer 429 ``ThrottlingException``; query services (IAM, STS) 400 ``Throttling``."""

    code = "ThrottlingException"
    status = 429
    query_code = "Throttling"
    query_status = 400


class AuthenticationError(RoleportError):
    """The request could not be authenticated.

    ``kind`` is protocol-neutral; the auth layer turns it into the code the caller's
    protocol family uses (``InvalidSignatureException`` for JSON services,
    ``SignatureDoesNotMatch`` for query services...).
    """

    status = 403

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class InternalError(RoleportError):
    code = "InternalFailure"
    status = 500
    sender_fault = False
