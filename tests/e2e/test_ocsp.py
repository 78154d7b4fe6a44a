"""OCSP checking through a real server, against a loopback OCSP responder: a trust
anchor tagged ``roleport:ocsp`` asks the responder of every certificate of the path
(POST, nonce), verifies the answer, keeps it until nextUpdate, and fails closed; the
precise reason lands on the subject record. Real client: iam-rolesanywhere-session."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import Setup, audit_reason, error_of, post_session
from .ocsp_responder import Behaviour, ocsp_responder

UNTRUSTED = "Untrusted signing certificate"
UNCHECKED = "Untrusted signing certificate: the revocation status could not be checked."


def _tag(world: Setup, mode: str) -> None:
    world.ra.tag_resource(resourceArn=world.trust_anchor["trustAnchorArn"],
                          tags=[{"key": "roleport:ocsp", "value": mode}])


def _reason(world: Setup, leaf: devpki.IssuedCertificate) -> str:
    out = subprocess.run([sys.executable, "-m", "roleport.cli.main", "subjects", "show",
                          "--data-dir", str(world.server.data_dir), "--account-id",
                          world.account.account_id, leaf.certificate.subject_dn],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["attempts"][0]["failureReason"]


@pytest.fixture()
def world(server: RoleportServer, pki) -> Setup:
    return Setup(server, server.new_account(), [pki.root])


def test_ocsp_answers_decide_and_fail_closed(world: Setup, pki) -> None:
    _tag(world, "enabled")
    with ocsp_responder(pki.root) as responder:
        def leaf(name: str, **behaviour) -> devpki.IssuedCertificate:
            issued = devpki.issue_leaf(pki.root, name, ocsp_urls=[responder.url])
            responder.behaviours[issued.certificate.serial] = Behaviour(**behaviour)
            return issued

        good = leaf("ocsp-good")
        assert post_session(world.server, good, body=world.arns).status_code == 201
        revoked = leaf("ocsp-revoked", status="revoked")
        assert error_of(post_session(world.server, revoked, body=world.arns)) == (
            403, "AccessDeniedException", UNTRUSTED)
        reason = _reason(world, revoked)
        assert reason.startswith(f"revocation: certificate serial "
                                 f"{revoked.certificate.serial_hex} (CN=ocsp-revoked) is "
                                 f"revoked (keyCompromise, since 20"), reason
        assert reason.endswith(f"according to the OCSP responder at {responder.url}")

        cases = {
            "ocsp-unknown": ({"status": "unknown"}, "status unknown"),
            "ocsp-expired": ({"this_update": timedelta(hours=-3),
                              "next_update": timedelta(hours=-1)}, "has expired"),
            "ocsp-wrong-signer": ({"signer": devpki.create_root_ca("Test Root CA")},
                                  "not signed by the certificate's issuer"),
            "ocsp-no-nonce": ({"echo_nonce": False}, "did not echo"),
        }
        for name, (behaviour, reason) in cases.items():
            refused = leaf(name, **behaviour)
            response = post_session(world.server, refused, body=world.arns)
            assert error_of(response) == (403, "AccessDeniedException", UNCHECKED), name
            assert responder.url not in response.text
            assert reason in audit_reason(world.server, refused.certificate.subject_dn), name

    down = devpki.issue_leaf(pki.root, "ocsp-down", ocsp_urls=["http://127.0.0.1:9/ocsp"])
    assert error_of(post_session(world.server, down, body=world.arns))[2] == UNCHECKED
    reason = audit_reason(world.server, "CN=ocsp-down")
    assert "no valid OCSP answer" in reason and "unreachable" in reason


def test_ocsp_answers_are_cached_until_next_update(world: Setup, pki) -> None:
    _tag(world, "enabled")
    with ocsp_responder(pki.root) as responder:
        leaf = devpki.issue_leaf(pki.root, "ocsp-cached", ocsp_urls=[responder.url])
        for _ in range(3):
            assert post_session(world.server, leaf, body=world.arns).status_code == 201
        assert responder.hits[leaf.certificate.serial] == 1
        short = devpki.issue_leaf(pki.root, "ocsp-short", ocsp_urls=[responder.url])
        # an answer already past nextUpdate (within the clock skew) is used once, not kept
        responder.behaviours[short.certificate.serial] = Behaviour(
            this_update=timedelta(hours=-1), next_update=timedelta(seconds=-1))
        for _ in range(2):
            assert post_session(world.server, short, body=world.arns).status_code == 201
        assert responder.hits[short.certificate.serial] == 2


def test_ocsp_checks_intermediates_and_is_off_without_the_tag(world: Setup, pki) -> None:
    with ocsp_responder(pki.root) as root_responder:
        intermediate = devpki.create_intermediate_ca(pki.root, cn="OCSP Checked Intermediate",
                                                     ocsp_urls=[root_responder.url])
        leaf = devpki.issue_leaf(intermediate, "below-intermediate")
        root_responder.behaviours[intermediate.certificate.serial] = Behaviour(
            status="revoked", reason=None)
        arns = world.arns
        # without the tag nothing is asked
        assert post_session(world.server, leaf, body=arns,
                            chain=leaf.intermediates).status_code == 201
        assert root_responder.hits == {}
        _tag(world, "enabled")
        assert error_of(post_session(world.server, leaf, body=arns,
                                     chain=leaf.intermediates))[2] == UNTRUSTED
        assert "(CN=OCSP Checked Intermediate) is revoked (since" in audit_reason(
            world.server, "CN=below-intermediate")
        _tag(world, "disabled")
        assert post_session(world.server, leaf, body=arns,
                            chain=leaf.intermediates).status_code == 201


def test_soft_fail_forgives_silence_not_revocation(world: Setup, pki) -> None:
    _tag(world, "soft-fail")
    down = devpki.issue_leaf(pki.root, "soft-down", ocsp_urls=["http://127.0.0.1:9/ocsp"])
    assert post_session(world.server, down, body=world.arns).status_code == 201
    with ocsp_responder(pki.root) as responder:
        revoked = devpki.issue_leaf(pki.root, "soft-revoked", ocsp_urls=[responder.url])
        responder.behaviours[revoked.certificate.serial] = Behaviour(status="revoked")
        assert error_of(post_session(world.server, revoked, body=world.arns))[2] == UNTRUSTED



def test_roleport_tags_with_wrong_values_are_refused(ra, pki) -> None:
    from botocore.exceptions import ClientError

    anchor = ra.create_trust_anchor(name="x", enabled=True, source={
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": pki.root.cert_pem}})["trustAnchor"]
    for key, value, words in [
            ("roleport:ocsp", "sometimes", "must be one of enabled, soft-fail or disabled"),
            ("roleport:spiffeTrustDomain", "Example.org", "must be a SPIFFE trust domain"),
            ("roleport:spiffeTrustDomain", "example.org/x", "without a path")]:
        with pytest.raises(ClientError) as exc:
            ra.tag_resource(resourceArn=anchor["trustAnchorArn"],
                            tags=[{"key": key, "value": value}])
        assert exc.value.response["Error"]["Code"] == "ValidationException"
        assert words in exc.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as exc:
            ra.create_trust_anchor(name="y", source={
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": pki.root.cert_pem}},
                tags=[{"key": key, "value": value}])
        assert words in exc.value.response["Error"]["Message"]
    assert ra.list_tags_for_resource(resourceArn=anchor["trustAnchorArn"])["tags"] == []


iam_ra = pytest.importorskip("iam_rolesanywhere_session")


def test_iam_rolesanywhere_session_with_ocsp(world: Setup, pki, tmp_path: Path) -> None:
    _tag(world, "enabled")
    server = world.server
    with ocsp_responder(pki.root) as responder:
        def session(leaf: devpki.IssuedCertificate) -> object:
            files = devpki.save(leaf, tmp_path, leaf.certificate.common_name or "x")
            return iam_ra.IAMRolesAnywhereSession(
                profile_arn=world.arns["profileArn"], role_arn=world.arns["roleArn"],
                trust_anchor_arn=world.arns["trustAnchorArn"],
                certificate=str(files.certificate), private_key=str(files.key),
                region=server.region, endpoint=server.endpoint.removeprefix("https://"),
                verify=str(server.ca_bundle)).get_session()

        good = devpki.issue_leaf(pki.root, "pypi-ocsp-good", ocsp_urls=[responder.url])
        sts = session(good).client("sts", endpoint_url=server.endpoint,
                                   verify=str(server.ca_bundle))
        assert sts.get_caller_identity()["Account"] == world.account.account_id
        revoked = devpki.issue_leaf(pki.root, "pypi-ocsp-revoked", ocsp_urls=[responder.url])
        responder.behaviours[revoked.certificate.serial] = Behaviour(status="revoked")
        with pytest.raises(Exception, match="Untrusted signing certificate"):
            session(revoked).client("sts", endpoint_url=server.endpoint,
                                    verify=str(server.ca_bundle)).get_caller_identity()
