"""Limits of profiles that AWS has (roles of the profile's own account) or that a server
needs (attribute mapping rules), through boto3 against a real server."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .test_trust_anchors import error_of

ROLE = "arn:aws:iam::{account}:role/app"
OTHER_ACCOUNT_ROLE = "arn:aws:iam::999988887777:role/app"


def _profile(ra, account) -> dict:  # noqa: ANN001
    return ra.create_profile(name="p", roleArns=[ROLE.format(account=account.account_id)])[
        "profile"]


def test_create_profile_refuses_a_role_of_another_account(ra, account):
    with pytest.raises(ClientError) as exc:
        ra.create_profile(name="p", roleArns=[ROLE.format(account=account.account_id),
                                              OTHER_ACCOUNT_ROLE])
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert OTHER_ACCOUNT_ROLE in message and account.account_id in message
    assert ra.list_profiles().get("profiles", []) == []


def test_update_profile_refuses_a_role_of_another_account(ra, account):
    p = _profile(ra, account)
    with pytest.raises(ClientError) as exc:
        ra.update_profile(profileId=p["profileId"], roleArns=[OTHER_ACCOUNT_ROLE])
    assert error_of(exc)[:2] == ("ValidationException", 400)
    assert ra.get_profile(profileId=p["profileId"])["profile"]["roleArns"] == p["roleArns"]


def test_put_attribute_mapping_refuses_too_many_rules_for_one_field(ra, account):
    p = _profile(ra, account)
    rules = [{"specifier": f"OID.{i}"} for i in range(10_000)]
    with pytest.raises(ClientError) as exc:
        ra.put_attribute_mapping(profileId=p["profileId"], certificateField="x509Subject",
                                 mappingRules=rules)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "mapping rules per certificate field (limit 50)" in message
    after = ra.get_profile(profileId=p["profileId"])["profile"]
    assert after["attributeMappings"] == p["attributeMappings"]


def test_put_attribute_mapping_accepts_the_limits_and_no_more(ra, account):
    p = _profile(ra, account)
    put = ra.put_attribute_mapping
    out = put(profileId=p["profileId"], certificateField="x509Subject",
              mappingRules=[{"specifier": f"S{i}"} for i in range(50)])
    assert len(out["profile"]["attributeMappings"][-1]["mappingRules"]) == 50
    # 50 subject + 3 default SAN rules + 50 issuer rules: past the profile's 100
    with pytest.raises(ClientError) as exc:
        put(profileId=p["profileId"], certificateField="x509Issuer",
            mappingRules=[{"specifier": f"I{i}"} for i in range(50)])
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "mapping rules per profile (limit 100)" in message
    out = put(profileId=p["profileId"], certificateField="x509Issuer",
              mappingRules=[{"specifier": f"I{i}"} for i in range(47)])
    assert sum(len(m["mappingRules"]) for m in out["profile"]["attributeMappings"]) == 100
