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
