"""The ``iam-rolesanywhere-session`` client from PyPI, unchanged, against a real Roleport
server over HTTPS: RSA and EC keys, with and without an intermediate, a mislabelled
``-SHA384`` algorithm; the boto3 session it returns then calls STS on Roleport."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .support import Setup

iam_ra = pytest.importorskip("iam_rolesanywhere_session")


def _session(server: RoleportServer, setup: Setup, leaf: devpki.IssuedCertificate,
             tmp_path: Path, *, chain: bool, **kw) -> object:
    files = devpki.save(leaf, tmp_path, "client")
    extra = {}
    if chain:
        chain_file = tmp_path / "chain.pem"
        chain_file.write_text("".join(c.pem for c in leaf.intermediates))
        extra["certificate_chain"] = str(chain_file)
    return iam_ra.IAMRolesAnywhereSession(
        profile_arn=setup.arns["profileArn"], role_arn=setup.arns["roleArn"],
        trust_anchor_arn=setup.arns["trustAnchorArn"], certificate=str(files.certificate),
        private_key=str(files.key), region=server.region,
        endpoint=server.endpoint.removeprefix("https://"), verify=str(server.ca_bundle),
        **extra, **kw)


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
@pytest.mark.parametrize("through_intermediate", [False, True],
                         ids=["issued-by-root", "via-intermediate"])
def test_iam_rolesanywhere_session_gets_working_credentials(
        server: RoleportServer, pki, tmp_path: Path, key_type: str,
        through_intermediate: bool) -> None:
    setup = Setup(server, server.new_account(), [pki.root])
    issuer = pki.intermediate if through_intermediate else pki.root
    leaf = devpki.issue_leaf(issuer, f"pypi-{key_type}", key_type=key_type)
    ra_session = _session(server, setup, leaf, tmp_path, chain=through_intermediate,
                          session_duration=900)
    boto_session = ra_session.get_session()
    sts = boto_session.client("sts", endpoint_url=server.endpoint)
    identity = sts.get_caller_identity()
    assert identity["Account"] == setup.account.account_id
    assert identity["Arn"] == (f"arn:aws:sts::{setup.account.account_id}:assumed-role/"
                               f"workload/{leaf.certificate.serial_hex}")


def test_iam_rolesanywhere_session_mislabelled_sha384(server: RoleportServer, pki,
                                                      tmp_path: Path) -> None:
    # the client names the CA's hash: a leaf signed with SHA-384 makes it declare
    # AWS4-X509-ECDSA-SHA384 while signing with SHA-256 (a counted leniency)
    setup = Setup(server, server.new_account(), [pki.root])
    leaf = devpki.issue_leaf(pki.root, "sha384-leaf", hash="sha384")
    ra_session = _session(server, setup, leaf, tmp_path, chain=False)
    credentials = ra_session.get_refreshable_credentials().get_frozen_credentials()
    assert credentials.access_key.startswith("ASIA")


def test_iam_rolesanywhere_session_reports_refusals(server: RoleportServer, pki,
                                                    tmp_path: Path) -> None:
    setup = Setup(server, server.new_account(), [pki.root])
    stranger = devpki.issue_leaf(pki.other_root, "stranger")
    ra_session = _session(server, setup, stranger, tmp_path, chain=False)
    with pytest.raises(Exception, match="Untrusted signing certificate"):
        ra_session.get_refreshable_credentials().get_frozen_credentials()
