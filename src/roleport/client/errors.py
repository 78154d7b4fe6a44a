"""Errors of the client toolkit, each with the exit code the signing helper uses for it.

::

    ClientError                   base class; ``message`` is meant for people  (exit 1)
    ├── ConfigurationError        a flag or option is missing, wrong or conflicting (exit 2)
    ├── SignerError               a key or certificate cannot be used: missing file, wrong
    │                             passphrase, key not matching the certificate, expired
    │                             certificate, PKCS#11 token or PIN problem         (exit 3)
    ├── ServiceError              the server refused the request (HTTP 4xx): its error code,
    │                             message and request id                          (exit 4)
    ├── EndpointError             the server could not be reached or kept failing: DNS,
    │                             TCP, TLS, HTTP 5xx or throttling after the retries (exit 5)
    └── OutputError               a local result could not be written (credentials file,
                                  listen address in use)                           (exit 6)

The official ``aws_signing_helper`` exits 1 for every failure; scripts that only test
for a non-zero status work unchanged, and those that care can tell the cases apart.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "ClientError",
    "ConfigurationError",
    "EndpointError",
    "OutputError",
    "ServiceError",
    "SignerError",
]


class ClientError(Exception):
    """A client-side failure; ``message`` says what went wrong and what to do."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(ClientError):
    """An option is missing, malformed or conflicts with another."""

    exit_code = 2


class SignerError(ClientError):
    """The certificate or private key cannot be loaded or used."""

    exit_code = 3


class ServiceError(ClientError):
    """The server answered with an error (4xx): ``code``, ``status``, ``request_id``."""

    exit_code = 4

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.request_id = request_id

    @property
    def retryable(self) -> bool:
        """Throttling codes: worth retrying later."""
        return self.status == 429 or (self.code or "") in _THROTTLING


class EndpointError(ClientError):
    """The server could not be reached, or kept answering 5xx/throttling.

    ``retryable`` is False for failures another attempt cannot fix (TLS verification).
    """

    exit_code = 5

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class OutputError(ClientError):
    """A local result (credentials file, listening socket) could not be produced."""

    exit_code = 6


_THROTTLING = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                         "RequestLimitExceeded", "SlowDown", "ThrottledException"})

#: exit status -> meaning, as documented in docs/client.md
EXIT_CODES = {
    0: "success",
    1: "unexpected error",
    2: "usage error: a flag is missing, malformed or conflicts with another",
    3: "certificate or private key problem (file, passphrase, mismatch, expiry, PKCS#11)",
    4: "the server refused the request (its error code and message are printed)",
    5: "the server could not be reached, or kept failing after the retries",
    6: "a local output could not be written (credentials file, listen address)",
}
