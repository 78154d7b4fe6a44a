"""Shared PKI for the crypto tests, generated once per session (never committed).

RSA key generation is the slow part, so the session makes four RSA keys (the RSA root's,
one for leaves, one for intermediates, one of 1024 bits) and passes them with ``key=``
wherever a test only needs "an RSA key".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from roleport.crypto import devpki
from roleport.crypto.devpki import IssuedCertificate
from roleport.crypto.keys import PrivateKey, generate_private_key


@dataclass(frozen=True)
class Pki:
    """A small, fixed set of CAs and keys for a test session."""

    ec_root: IssuedCertificate
    ec_intermediate: IssuedCertificate
    rsa_root: IssuedCertificate
    mldsa_root: IssuedCertificate
    other_root: IssuedCertificate  # an unrelated CA, same key type as ec_root
    rsa_key: PrivateKey  # RSA-2048 for leaves
    rsa_key_2: PrivateKey  # RSA-2048 for intermediates
    rsa_1024: PrivateKey

    def root_for(self, key_type: str) -> IssuedCertificate:
        """The CA a leaf of ``key_type`` is issued by in parametrized tests."""
        return {"ec": self.ec_root, "rsa": self.rsa_root, "mldsa": self.mldsa_root}[key_type]

    def leaf(self, key_type: str, **options: object) -> IssuedCertificate:
        """A leaf of ``key_type`` (``ec``/``rsa``/``mldsa``), issued by that type's root."""
        if key_type == "rsa":
            options.setdefault("key", self.rsa_key)
        return devpki.issue_leaf(self.root_for(key_type), key_type=key_type,
                                 **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pki() -> Pki:
    ec_root = devpki.create_root_ca("Test EC Root")
    return Pki(
        ec_root=ec_root,
        ec_intermediate=devpki.create_intermediate_ca(ec_root, "Test EC Intermediate"),
        rsa_root=devpki.create_root_ca("Test RSA Root", key_type="rsa"),
        mldsa_root=devpki.create_root_ca("Test ML-DSA Root", key_type="mldsa"),
        other_root=devpki.create_root_ca("Unrelated Root"),
        rsa_key=generate_private_key("rsa"),
        rsa_key_2=generate_private_key("rsa"),
        rsa_1024=generate_private_key("rsa", key_size=1024),
    )


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


KEY_TYPES = ["ec", "rsa", "mldsa"]
