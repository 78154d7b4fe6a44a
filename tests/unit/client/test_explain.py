"""roleport explain's pure parts: the API's JSON back to domain objects (what the server
shows is what explain checks), and the hints."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

from roleport.client.explain import (
    hint,
    profile_from_api,
    role_from_api,
    trust_anchor_from_api,
)
from roleport.crypto import devpki
from roleport.domain.model import AttributeMapping, Profile, TipConfiguration, TrustAnchor
from roleport.domain.session_checks import CheckResult
from roleport.server import views

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_trust_anchor_and_a_profile_survive_the_api_view() -> None:
    anchor = TrustAnchor(id="0ace5b12-24b9-427e-a483-c55884852fbf", account_id="111122223333",
                         region="eu-west-1", name="a", source_type="CERTIFICATE_BUNDLE",
                         source_data={"x509CertificateData": "PEM"}, enabled=False,
                         crl_dp_revocation_enabled=True, notification_settings=[],
                         created_at=NOW, updated_at=NOW)
    back = trust_anchor_from_api(json.loads(json.dumps(
        {"trustAnchor": views.trust_anchor(anchor)}, default=str)))
    assert back == anchor
    profile = Profile(id="61f50cd4-45b9-4259-b049-d0a53682fa4b", account_id="111122223333",
                      region="eu-west-1", name="p", enabled=True,
                      require_instance_properties=True, session_policy='{"Version": "x"}',
                      role_arns=["arn:aws:iam::111122223333:role/r"],
                      managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                      duration_seconds=900, accept_role_session_name=True,
                      attribute_mappings=[AttributeMapping("x509Subject", ["CN", "OU"])],
                      created_by="me", created_at=NOW, updated_at=NOW,
                      tip_configuration=TipConfiguration("ENABLED", "user", "x509Subject/CN"))
    assert profile_from_api(views.profile(profile)) == profile


def test_a_role_from_get_role_with_its_policy_in_any_form() -> None:
    policy = {"Version": "2012-10-17", "Statement": []}
    arn = "arn:aws:iam::111122223333:role/path/deploy"
    for document in (policy, json.dumps(policy), quote(json.dumps(policy))):
        role = role_from_api({"Role": {"Arn": arn, "RoleName": "deploy", "RoleId": "AROA",
                                       "AssumeRolePolicyDocument": document,
                                       "MaxSessionDuration": 7200}})
        assert json.loads(role.trust_policy) == policy
        assert (role.account_id, role.name, role.max_session_duration) == (
            "111122223333", "deploy", 7200)


def test_hints_say_what_to_change() -> None:
    root = devpki.create_root_ca("Hint Root CA")
    leaf = devpki.issue_leaf(devpki.create_root_ca("Hint Root CB"), "x")
    anchor = TrustAnchor(id="0ace5b12-24b9-427e-a483-c55884852fbf", account_id="111122223333",
                         region="eu-west-1", name="a", source_type="CERTIFICATE_BUNDLE",
                         source_data={"x509CertificateData": root.cert_pem}, enabled=False,
                         crl_dp_revocation_enabled=False, notification_settings=[],
                         created_at=NOW, updated_at=NOW)

    def said(check: str, reason: str) -> str | None:
        return hint(CheckResult(check, "failed", reason, "m"), certificate=leaf.certificate,
                    anchor=anchor, profile=None, role_arn="arn:aws:iam::1:role/r")

    assert said("trust-anchor", f"trust anchor {anchor.id} is disabled") == (
        f"enable it: aws rolesanywhere enable-trust-anchor --trust-anchor-id {anchor.id}")
    assert "closest: CN=Hint Root CA" in said(
        "certificate", "no path to a CA certificate of the trust anchor: no certificate "
        "named CN=Hint Root CB to verify CN=x")
    assert "SHA-256" in said("certificate", "certificate signature algorithm ecdsa-with-SHA1 "
                                            "uses SHA1: SHA-256 or stronger is required")
    assert said("clock-skew", "Signature expired").startswith("set the signing host's clock")
    assert "requires aws:PrincipalTag/x509Subject/OU StringEquals ['ops']; this certificate " \
           "gives ['dev']" in said("assume-role", "... condition StringEquals on "
                                   "aws:PrincipalTag/x509Subject/OU does not match: request "
                                   "has ['dev'], policy has ['ops'].)")


def test_explain_offline_exit_codes() -> None:
    from roleport.client.explain import explain
    from roleport.sts.trust import RoleFacts

    root = devpki.create_root_ca("Offline Root CA")
    leaf = devpki.issue_leaf(root, "offline")
    anchor = trust_anchor_from_api({"trustAnchorArn": "arn:aws:rolesanywhere:us-east-1:"
                                    "111122223333:trust-anchor/0ace5b12-24b9-427e-a483-"
                                    "c55884852fbf", "enabled": True, "source": {
                                        "sourceData": {"x509CertificateData": root.cert_pem}}})
    role_arn = "arn:aws:iam::111122223333:role/r"
    profile = profile_from_api({"profileArn": "arn:aws:rolesanywhere:us-east-1:111122223333:"
                                "profile/61f50cd4-45b9-4259-b049-d0a53682fa4b",
                                "enabled": True, "roleArns": [role_arn]})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})
    role = RoleFacts(role_arn, "AROA", "r", "111122223333", policy, 3600)

    def run(key, role, role_known=True):  # noqa: ANN001, ANN202
        return explain(leaf.certificate, [], key, anchor=anchor, trust_anchor_arn=anchor.arn,
                       profile=profile, profile_arn=profile.arn, role=role,
                       role_arn=role_arn, crls=[], role_known=role_known)

    assert run(leaf.key, role).exit_code == 0
    unsigned = run(None, role)
    assert unsigned.exit_code == 4 and unsigned.refused is None
    unknown = run(leaf.key, None, role_known=False)
    assert unknown.exit_code == 4
    assert [r.check for r in unknown.results if r.status == "skipped"] == ["assume-role"]
    missing = run(leaf.key, None)
    assert missing.exit_code == 1 and missing.refused.check == "assume-role"
    wrong_key = run(devpki.issue_leaf(root, "other").key, role)
    assert wrong_key.exit_code == 1 and wrong_key.refused.check == "signature"


# -- Roleport's tag-driven checks: OCSP, SPIFFE, and ACM PCA anchors -----------------------

ACCOUNT = "111122223333"
ANCHOR_ARN = (f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/"
              "0ace5b12-24b9-427e-a483-c55884852fbf")
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/r"
OCSP_URL = "http://ocsp.test/root"


def _explain(leaf, anchor, **options):  # noqa: ANN001, ANN003, ANN202
    from roleport.client.explain import explain

    profile = profile_from_api({"profileArn": f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:"
                                "profile/61f50cd4-45b9-4259-b049-d0a53682fa4b",
                                "enabled": True, "roleArns": [ROLE_ARN]})
    return explain(leaf.certificate, [], leaf.key, anchor=anchor, trust_anchor_arn=anchor.arn,
                   profile=profile, profile_arn=profile.arn, role=None, role_arn=ROLE_ARN,
                   crls=[], role_known=False, **options)


def _anchor(source: dict, tags: dict[str, str]) -> TrustAnchor:
    from roleport.client.explain import tags_from_api

    anchor = trust_anchor_from_api({"trustAnchorArn": ANCHOR_ARN, "enabled": True,
                                    "source": source})
    anchor.tags = tags_from_api({"tags": [{"key": k, "value": v} for k, v in tags.items()]})
    return anchor


def _status(done, check: str):  # noqa: ANN001, ANN202
    return next(r for r in done.results if r.check == check)


def test_explain_asks_ocsp_and_skips_a_responder_out_of_reach() -> None:
    from roleport.domain.revocation import OcspChecker
    from tests.e2e.ocsp_responder import Behaviour, Responder
    from tests.unit.domain.test_ocsp_checker import Fetcher

    root = devpki.create_root_ca("Explain OCSP Root")
    leaf = devpki.issue_leaf(root, "ocsp-checked", ocsp_urls=[OCSP_URL])
    responder = Responder(root)
    for mode in ("enabled", "soft-fail"):
        anchor = _anchor({"sourceData": {"x509CertificateData": root.cert_pem}},
                         {"roleport:ocsp": mode})
        # no OCSP checker at all: refused, as a server without OCSP would
        assert _status(_explain(leaf, anchor), "revocation").failed
        good = _explain(leaf, anchor, ocsp=OcspChecker(Fetcher({OCSP_URL: responder})))
        assert _status(good, "revocation").status == "passed"
        assert good.audit.ocsp == [f"CN=ocsp-checked: good at {OCSP_URL}"]
        # out of reach from here: not checked, and said so (exit 4), in both modes
        away = _explain(leaf, anchor, ocsp=OcspChecker(Fetcher(None)))
        skipped = _status(away, "revocation")
        assert skipped.status == "skipped" and "could be reached from here" in skipped.reason
        assert away.refused is None and away.exit_code == 4
    responder.behaviours[leaf.certificate.serial] = Behaviour(status="revoked")
    revoked = _explain(leaf, anchor, ocsp=OcspChecker(Fetcher({OCSP_URL: responder})))
    assert revoked.refused.check == "revocation" and "revoked" in revoked.refused.reason
    assert "issue a new certificate" in revoked.hints["revocation"]


def test_explain_applies_the_svid_rules_and_svid_names() -> None:
    from tests.e2e.spiffe_support import spire_ca, svid

    ca = spire_ca("example.org")
    anchor = _anchor({"sourceData": {"x509CertificateData": ca.cert_pem}},
                     {"roleport:spiffeTrustDomain": "example.org"})
    done = _explain(svid(ca, "spiffe://example.org/ns/prod/sa/web"), anchor)
    assert _status(done, "certificate").status == "passed"
    assert done.audit.spiffe_id == "spiffe://example.org/ns/prod/sa/web"
    assert (done.audit.role_session_name, done.audit.source_identity) == (
        "ns.prod.sa.web", "example.org.ns.prod.sa.web")
    other = _explain(svid(ca, "spiffe://other.org/web"), anchor)
    assert other.refused.check == "certificate"
    assert "not of trust domain example.org" in other.refused.reason
    # a certificate that is no SVID at all (no URI SAN)
    plain = _explain(devpki.issue_leaf(ca, "plain"), anchor)
    assert plain.refused.check == "certificate" and "URI SAN" in plain.refused.reason


def test_explain_an_acm_pca_anchor_needs_its_ca_certificate() -> None:
    root = devpki.create_root_ca("Explain PCA")
    leaf = devpki.issue_leaf(root, "pca-leaf")
    arn = f"arn:aws:acm-pca:us-east-1:{ACCOUNT}:certificate-authority/1234"
    anchor = _anchor({"sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": arn}}, {})
    blind = _explain(leaf, anchor)
    assert _status(blind, "certificate").status == "skipped"
    assert "--ca-certificate" in _status(blind, "certificate").reason
    assert blind.refused is None and blind.exit_code == 4
    anchor.ca_snapshot = root.cert_pem
    assert _status(_explain(leaf, anchor), "certificate").status == "passed"
