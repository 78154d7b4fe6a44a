"""Errors raised by :mod:`roleport.crypto`.

No exception of the ``cryptography`` package leaves ``roleport.crypto``: each one is
translated, once, into one of these, with a message that says which check failed::

    CryptoError                 base class; .message is meant for people
    ├── CertificateError        a certificate cannot be parsed or breaks a Roles Anywhere rule
    ├── CrlError                a CRL cannot be parsed or is not signed by the trust anchor
    ├── SignatureError          a CreateSession request signature does not verify
    ├── PathValidationError     no valid certification path from a leaf to a trust anchor
    └── KeyLoadError            a private key cannot be loaded or does not fit its certificate

``message`` is in Roleport's words only and may reach a remote caller (ImportCrl's
``Invalid crlData: CRL could not be parsed``); what the library said (``error parsing asn1
value: ParseError { kind: UnexpectedTag ... }``) goes to ``detail``, for the server log and
the audit trail. :class:`KeyLoadError` is the exception: its reader is the owner of a local
key file (the signing helper, the CLI), so its message keeps the library's words.

These are deliberately *not* :class:`roleport.errors.RoleportError`: crypto knows nothing
of AWS error codes. The domain layer decides which AWS error each one becomes (CreateSession
turns all of them into ``403 AccessDeniedException``; ImportCrl turns a CrlError into a
``ValidationException``).
"""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "CrlError",
    "CryptoError",
    "KeyLoadError",
    "OcspError",
    "PathValidationError",
    "SignatureError",
]


class CryptoError(Exception):
    """A cryptographic check or operation failed; ``message`` says which and why."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: what the underlying library said, for logs only (never in ``message``)
        self.detail = detail

    @property
    def full(self) -> str:
        """``message`` with ``detail``: for logs, audit records and local users."""
        return f"{self.message} ({self.detail})" if self.detail else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class CertificateError(CryptoError):
    """A certificate could not be parsed, or breaks a trust-anchor / end-entity rule."""


class CrlError(CryptoError):
    """A certificate revocation list could not be parsed or verified."""


class OcspError(CryptoError):
    """An OCSP response could not be parsed or fails a rule of RFC 6960."""


class SignatureError(CryptoError):
    """A request signature is malformed, uses the wrong algorithm, or does not verify."""


class PathValidationError(CryptoError):
    """No valid certification path links the leaf to a CA of the trust anchor."""


class KeyLoadError(CryptoError):
    """A private key could not be loaded (bad format, wrong passphrase) or mismatches."""
