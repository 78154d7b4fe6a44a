"""Trusted identity propagation rules: which mapping rule a subject source needs, which
certificate value becomes the subject, and that only Roleport sets aws:OriginIdentity/*."""

from __future__ import annotations

import pytest

from roleport.crypto import devpki
from roleport.domain import attribute_mappings, trusted_identity
from roleport.domain.model import AttributeMapping
from roleport.errors import ValidationError
from roleport.sts import trust
from roleport.sts.claims import OriginIdentity
from roleport.sts.credentials import SessionCredentials
from roleport.sts.keyring import Keyring
from tests.unit.sts.test_tokens import KEY_A, FixedClock, mint
from tests.unit.sts.test_trust import ALL, NOW, allow, ask, role

CN = trusted_identity.configured("ENABLED", "workload", None)
URI = trusted_identity.configured("ENABLED", None, "x509SAN/URI")


def test_the_subject_source_defaults_to_the_common_name():
    assert CN.subject_source == "x509Subject/CN"


@pytest.mark.parametrize("tip,mappings", [
    (CN, attribute_mappings.defaults()),
    (URI, attribute_mappings.defaults()),
    (CN, [AttributeMapping("x509Subject", ["OU", "CN"])]),
    (CN, [AttributeMapping("x509Subject", ["*"])]),
    (URI, [AttributeMapping("x509SAN", ["URI"])]),
    (trusted_identity.configured("DISABLED", None, None), []),
    (None, []),
])
def test_mappings_that_keep_a_rule_for_the_subject_source_pass(tip, mappings):
    trusted_identity.check_mappings(tip, mappings, change="x")


@pytest.mark.parametrize("tip,mappings,needle", [
    (CN, [AttributeMapping("x509Subject", ["OU"])], "'CN' or '*'"),
    (CN, [AttributeMapping("x509Issuer", ["CN"])], "x509Subject mapping"),
    (URI, [AttributeMapping("x509SAN", ["DNS", "Name/*"])], "'URI'"),
    (URI, [AttributeMapping("x509Subject", ["*"])], "x509SAN mapping"),
])
def test_mappings_without_the_rule_are_refused(tip, mappings, needle):
    with pytest.raises(ValidationError) as exc:
        trusted_identity.check_mappings(tip, mappings, change="PutAttributeMapping")
    assert exc.value.message.startswith("PutAttributeMapping would leave")
    assert needle in exc.value.message and tip.subject_source in exc.value.message


def test_the_subject_is_the_first_cn_or_the_first_uri(pki):
    leaf = devpki.issue_leaf(pki.root, "alice", sans=["URI:spiffe://a/one",
                                                      "URI:spiffe://a/two"]).certificate
    assert trusted_identity.origin_identity(leaf, CN) == OriginIdentity("alice", "workload")
    assert trusted_identity.origin_identity(leaf, URI) == OriginIdentity("spiffe://a/one")
    assert trusted_identity.origin_identity(leaf, None) is None
    off = trusted_identity.configured("DISABLED", "user", None)
    assert trusted_identity.origin_identity(leaf, off) is None


def test_a_certificate_without_the_field_is_refused(pki):
    leaf = devpki.issue_leaf(pki.root, "no-uri", sans=["DNS:a.example"]).certificate
    with pytest.raises(trusted_identity.MissingSubject) as exc:
        trusted_identity.origin_identity(leaf, URI)
    assert exc.value.subject_source == "x509SAN/URI"


ORIGIN = OriginIdentity("alice", "user")
ONLY_ALICE = role([allow(ALL, StringEquals={"aws:OriginIdentity/Subject": "alice",
                                            "aws:OriginIdentity/SubjectType": "user"})])


def test_trust_conditions_see_the_origin_identity():
    trust.check_all(ONLY_ALICE, ask(origin_identity=ORIGIN), NOW, same_account=True)
    with pytest.raises(trust.AssumeRoleDenied):
        trust.check_all(ONLY_ALICE, ask(origin_identity=OriginIdentity("bob", "user")), NOW,
                        same_account=True)


@pytest.mark.parametrize("key", ["aws:OriginIdentity/Subject", "AWS:originidentity/subject"])
def test_origin_identity_keys_from_anywhere_else_are_ignored(key):
    forged = {key: "alice", "aws:OriginIdentity/SubjectType": "user"}
    with pytest.raises(trust.AssumeRoleDenied):
        trust.check_all(ONLY_ALICE, ask(context=forged), NOW, same_account=True)
    with pytest.raises(trust.AssumeRoleDenied):  # and they cannot override the real one
        trust.check_all(ONLY_ALICE, ask(context=forged, origin_identity=OriginIdentity(
            "bob", "user")), NOW, same_account=True)


def test_the_session_token_carries_the_origin_identity():
    creds = SessionCredentials(Keyring.of(KEY_A), FixedClock())
    for origin in (ORIGIN, OriginIdentity("spiffe://a/b"), None):
        minted = mint(creds, origin_identity=origin)
        opened = creds.verify(minted.access_key_id, minted.session_token).claims
        assert opened.origin_identity == origin
