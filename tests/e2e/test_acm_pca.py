"""AWS_ACM_PCA trust anchors through a real server, with moto's server as the ACM Private
CA endpoint: a CA made and activated there is anchored (its certificate read at create,
kept as a snapshot, re-read at every update), a leaf moto's CA issues gets credentials
through iam-rolesanywhere-session, a leaf of another CA does not; unknown, inactive,
foreign-region and unreachable CAs are clear 400s (403 without credentials), and nothing
is half-created or half-updated.

moto notes: its CA starts PENDING_CERTIFICATE; it is activated the AWS way (its CSR,
IssueCertificate with the RootCACertificate/V1 template, ImportCertificateAuthorityCertificate).
moto ignores the request's signature, so "denied" is shown with a server that has no
credentials at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import Setup, error_of, post_session

moto_server = pytest.importorskip("moto.server")
iam_ra = pytest.importorskip("iam_rolesanywhere_session")

ROOT_TEMPLATE = "arn:aws:acm-pca:::template/RootCACertificate/V1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def pca(moto_url: str) -> Any:
    return boto3.session.Session().client("acm-pca", endpoint_url=moto_url,
                                          region_name="us-east-1", **_lower(CREDENTIALS))


@pytest.fixture(scope="module")
def pca_server(moto_url: str, tmp_path_factory) -> Iterator[RoleportServer]:
    with RoleportServer(tmp_path_factory.mktemp("pca"), env=CREDENTIALS,
                        extra_args=["--acm-pca-endpoint", moto_url]) as srv:
        yield srv


def _lower(env: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in env.items()}


def _new_ca(pca: Any, cn: str, *, activate: bool = True) -> str:
    arn = pca.create_certificate_authority(
        CertificateAuthorityType="ROOT",
        CertificateAuthorityConfiguration={"KeyAlgorithm": "RSA_2048",
                                           "SigningAlgorithm": "SHA256WITHRSA",
                                           "Subject": {"CommonName": cn, "Organization": "Ex"}},
    )["CertificateAuthorityArn"]
    if activate:
        csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"]
        cert_arn = pca.issue_certificate(
            CertificateAuthorityArn=arn, Csr=csr.encode(), SigningAlgorithm="SHA256WITHRSA",
            TemplateArn=ROOT_TEMPLATE, Validity={"Value": 10, "Type": "YEARS"},
        )["CertificateArn"]
        cert = pca.get_certificate(CertificateAuthorityArn=arn,
                                   CertificateArn=cert_arn)["Certificate"]
        pca.import_certificate_authority_certificate(CertificateAuthorityArn=arn,
                                                     Certificate=cert.encode())
    return arn


def _leaf_from(pca: Any, ca_arn: str, cn: str, directory: Path) -> tuple[Path, Path, str]:
    """A client key, and a certificate for it that moto's CA issues from a CSR."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    cert_arn = pca.issue_certificate(
        CertificateAuthorityArn=ca_arn, Csr=csr.public_bytes(serialization.Encoding.PEM),
        SigningAlgorithm="SHA256WITHRSA", Validity={"Value": 30, "Type": "DAYS"},
    )["CertificateArn"]
    pem = pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=cert_arn)[
        "Certificate"]
    cert_file, key_file = directory / f"{cn}.pem", directory / f"{cn}.key"
    cert_file.write_text(pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, pem


def _setup(server: RoleportServer, ca_arn: str) -> Setup:
    setup = Setup.__new__(Setup)
    setup.server, setup.account, setup.anchors = server, server.new_account(), []
    setup.ra = server.client("rolesanywhere", setup.account)
    setup.iam = server.client("iam", setup.account)
    setup.trust_anchor = setup.ra.create_trust_anchor(name="pca", enabled=True, source={
        "sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": ca_arn}})["trustAnchor"]
    setup.role_arn = setup.role("workload")
    setup.profile = setup.new_profile()
    return setup


def _credentials(setup: Setup, cert_file: Path, key_file: Path) -> dict[str, Any]:
    server = setup.server
    session = iam_ra.IAMRolesAnywhereSession(
        profile_arn=setup.arns["profileArn"], role_arn=setup.arns["roleArn"],
        trust_anchor_arn=setup.arns["trustAnchorArn"], certificate=str(cert_file),
        private_key=str(key_file), region=server.region,
        endpoint=server.endpoint.removeprefix("https://"), verify=str(server.ca_bundle))
    sts = session.get_session().client("sts", endpoint_url=server.endpoint,
                                       verify=str(server.ca_bundle))
    return sts.get_caller_identity()


def test_acm_pca_anchor_trusts_what_the_private_ca_issues(pca_server, pca, pki,
                                                         tmp_path: Path) -> None:
    ca_arn = _new_ca(pca, "Moto Private CA")
    setup = _setup(pca_server, ca_arn)
    assert setup.trust_anchor["source"] == {"sourceType": "AWS_ACM_PCA",
                                            "sourceData": {"acmPcaArn": ca_arn}}
    got = setup.ra.get_trust_anchor(trustAnchorId=setup.trust_anchor["trustAnchorId"])
    assert got["trustAnchor"]["source"]["sourceData"] == {"acmPcaArn": ca_arn}

    cert_file, key_file, _ = _leaf_from(pca, ca_arn, "pca-workload", tmp_path)
    identity = _credentials(setup, cert_file, key_file)
    assert identity["Account"] == setup.account.account_id
    assert "assumed-role/workload/" in identity["Arn"]

    stranger = devpki.issue_leaf(pki.root, "not-from-the-pca")
    assert error_of(post_session(pca_server, stranger, body=setup.arns)) == (
        403, "AccessDeniedException", "Untrusted signing certificate")
    other_ca = _new_ca(pca, "Another Moto CA")
    cert2, key2, _ = _leaf_from(pca, other_ca, "other-pca-workload", tmp_path)
    with pytest.raises(Exception, match="Untrusted signing certificate"):
        _credentials(setup, cert2, key2)

    # UpdateTrustAnchor to the other CA: its certificate replaces the snapshot
    setup.ra.update_trust_anchor(trustAnchorId=setup.trust_anchor["trustAnchorId"], source={
        "sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": other_ca}})
    assert _credentials(setup, cert2, key2)["Account"] == setup.account.account_id
    with pytest.raises(Exception, match="Untrusted signing certificate"):
        _credentials(setup, cert_file, key_file)


def test_update_re_reads_the_private_ca_and_changes_nothing_when_it_fails(
        pca_server, pca, tmp_path: Path) -> None:
    ca_arn = _new_ca(pca, "Moto CA To Disable")
    setup = _setup(pca_server, ca_arn)
    anchor_id = setup.trust_anchor["trustAnchorId"]
    cert_file, key_file, _ = _leaf_from(pca, ca_arn, "before-disable", tmp_path)
    pca.update_certificate_authority(CertificateAuthorityArn=ca_arn, Status="DISABLED")
    with pytest.raises(ClientError) as exc:
        setup.ra.update_trust_anchor(trustAnchorId=anchor_id, name="renamed")
    assert error_of_client(exc) == (400, "ValidationException",
                                    f"The ACM Private CA '{ca_arn}' is not ACTIVE (its status "
                                    f"is DISABLED).")
    assert setup.ra.get_trust_anchor(trustAnchorId=anchor_id)["trustAnchor"]["name"] == "pca"
    assert _credentials(setup, cert_file, key_file)  # the snapshot still holds
    pca.update_certificate_authority(CertificateAuthorityArn=ca_arn, Status="ACTIVE")
    renamed = setup.ra.update_trust_anchor(trustAnchorId=anchor_id, name="renamed")
    assert renamed["trustAnchor"]["name"] == "renamed"


def error_of_client(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"]["Message"])


def test_bad_private_cas_are_clear_validation_errors(pca_server, pca) -> None:
    ra = pca_server.client("rolesanywhere", pca_server.new_account())
    pending = _new_ca(pca, "Pending Moto CA", activate=False)
    region_of = "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/abc"
    missing = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/" + "0" * 36
    cases = {
        pending: f"The ACM Private CA '{pending}' is not ACTIVE (its status is "
                 f"PENDING_CERTIFICATE).",
        missing: f"The ACM Private CA '{missing}' was not found.",
        region_of: f"The ACM Private CA '{region_of}' is in eu-west-1; a trust anchor and its "
                   f"Private CA must be in the same Region (us-east-1).",
        "arn:aws:s3:::bucket": "Invalid acmPcaArn 'arn:aws:s3:::bucket': expected "
                               "arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID.",
    }
    for arn, message in cases.items():
        with pytest.raises(ClientError) as exc:
            ra.create_trust_anchor(name="x", source={"sourceType": "AWS_ACM_PCA",
                                                     "sourceData": {"acmPcaArn": arn}})
        assert error_of_client(exc) == (400, "ValidationException", message)
    with pytest.raises(ClientError) as exc:
        ra.create_trust_anchor(name="x", source={
            "sourceType": "AWS_ACM_PCA", "sourceData": {"x509CertificateData": "pem"}})
    assert "needs sourceData with acmPcaArn" in error_of_client(exc)[2]
    assert ra.list_trust_anchors()["trustAnchors"] == []


def test_unreachable_endpoint_and_missing_credentials(pca, tmp_path: Path) -> None:
    ca_arn = _new_ca(pca, "Unreachable Moto CA")
    no_credentials = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                      "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                      "AWS_CONFIG_FILE": str(tmp_path / "none"),
                      "AWS_EC2_METADATA_DISABLED": "true"}
    for env, status, code, words in [
        (CREDENTIALS, 400, "ValidationException", "could not be read: the ACM PCA endpoint "
                                                  "did not answer"),
        (no_credentials, 403, "AccessDeniedException", "Roleport has no credentials"),
    ]:
        with RoleportServer(tmp_path / code, env=env, extra_args=[
                "--acm-pca-endpoint", "http://127.0.0.1:9", "--acm-pca-timeout", "1"]) as srv:
            ra = srv.client("rolesanywhere", srv.new_account())
            with pytest.raises(ClientError) as exc:
                ra.create_trust_anchor(name="x", source={
                    "sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": ca_arn}})
            got = error_of_client(exc)
            assert got[:2] == (status, code) and words in got[2], got
            assert ra.list_trust_anchors()["trustAnchors"] == []
