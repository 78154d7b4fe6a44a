"""A small PKI written to files for the client tests (generated per session, never
committed): an EC root, an intermediate under it, and leaves of each key type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from roleport.crypto import devpki
from roleport.crypto.devpki import IssuedCertificate


@dataclass(frozen=True)
class Files:
    root: IssuedCertificate
    intermediate: IssuedCertificate
    leaf: IssuedCertificate            # EC, issued by the intermediate
    rsa_leaf: IssuedCertificate        # RSA, issued by the root
    mldsa_leaf: IssuedCertificate      # ML-DSA, issued by the root
    directory: Path

    def path(self, name: str) -> str:
        return str(self.directory / name)


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    directory = tmp_path_factory.mktemp("client-pki")
    root = devpki.create_root_ca("Client Test Root")
    intermediate = devpki.create_intermediate_ca(root, "Client Test Intermediate")
    leaf = devpki.issue_leaf(intermediate, "alice")
    rsa_leaf = devpki.issue_leaf(root, "bob", key_type="rsa")
    mldsa_leaf = devpki.issue_leaf(root, "carol", key_type="mldsa")
    devpki.save(leaf, directory, "alice")
    devpki.save(leaf, directory, "alice-enc", password="s3cret")
    devpki.save(rsa_leaf, directory, "bob")
    devpki.save(mldsa_leaf, directory, "carol")
    (directory / "alice-traditional.key").write_text(leaf.key.to_pem(traditional=True))
    (directory / "bob-pkcs1.key").write_text(rsa_leaf.key.to_pem(traditional=True))
    (directory / "alice.der").write_bytes(leaf.key.to_der())
    (directory / "alice.p12").write_bytes(leaf.pkcs12())
    (directory / "alice-pw.p12").write_bytes(leaf.pkcs12("pw"))
    (directory / "combined.pem").write_text(leaf.cert_pem + leaf.key_pem)
    # a bundle in the wrong order, with the root, the leaf and a stranger in it
    stranger = devpki.create_root_ca("Stranger")
    (directory / "messy-chain.pem").write_text(
        root.cert_pem + leaf.cert_pem + stranger.cert_pem + intermediate.cert_pem
        + intermediate.cert_pem)
    return Files(root, intermediate, leaf, rsa_leaf, mldsa_leaf, directory)
