"""Everything cryptographic in Roleport; the only package that imports ``cryptography``.

Modules (import them directly; this package re-exports only the errors):

* :mod:`~roleport.crypto.errors`        the error hierarchy (``CryptoError`` and kin)
* :mod:`~roleport.crypto.certificates`  ``Certificate``, loaders, AWS CA / end-entity rules
* :mod:`~roleport.crypto.crls`          parsed ``Crl`` values, loader, "which CA signed it"
* :mod:`~roleport.crypto.paths`         ``TrustStore`` and certification path validation, revocation
* :mod:`~roleport.crypto.signatures`    CreateSession signature verification, leniencies
* :mod:`~roleport.crypto.keys`          private keys: load (PEM, DER, PKCS#12), generate, sign
* :mod:`~roleport.crypto.secrets`       HMAC, HKDF, AEAD, constant-time compare, randomness
* :mod:`~roleport.crypto.devpki`        development PKI (CAs, leaves, bad certificates, CRLs, files)
* :mod:`~roleport.crypto.algorithms`    the algorithm / key-strength facts, in one place
* :mod:`~roleport.crypto.names`         DN attributes under the short names AWS uses
"""

from roleport.crypto.errors import (
    CertificateError,
    CrlError,
    CryptoError,
    KeyLoadError,
    PathValidationError,
    SignatureError,
)

__all__ = [
    "CertificateError",
    "CrlError",
    "CryptoError",
    "KeyLoadError",
    "PathValidationError",
    "SignatureError",
]
