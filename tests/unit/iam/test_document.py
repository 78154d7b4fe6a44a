"""parse_policy: normal forms, and IAM's error messages per policy kind."""

from __future__ import annotations

import json

import pytest

from roleport.iam.policy import (
    DEFAULT_MAX_SIZE,
    MalformedPolicyError,
    PolicyTooLargeError,
    Principal,
    parse_policy,
    policy_size,
)

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
TRUST = {"Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
         "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}


def doc(*statements, version="2012-10-17", **top):
    out = {"Version": version} if version else {}
    out.update(top)
    out["Statement"] = list(statements)
    return json.dumps(out)


def error_of(text, kind="identity", **kw):
    with pytest.raises(MalformedPolicyError) as info:
        parse_policy(text, kind=kind, **kw)
    return info.value.message


def test_parse_normalises_strings_and_a_single_statement_object():
    text = json.dumps({"Version": "2012-10-17", "Id": "p1",
                       "Statement": {"Sid": "One", "Effect": "Allow", "Action": "s3:GetObject",
                                     "Resource": "arn:aws:s3:::b/*"}})
    policy = parse_policy(text, kind="identity")
    assert policy.version == "2012-10-17" and policy.id == "p1"
    (statement,) = policy.statements
    assert statement.sid == "One"
    assert statement.action == ("s3:GetObject",)
    assert statement.resource == ("arn:aws:s3:::b/*",)
    assert statement.not_action is None and statement.principal is None


def test_parse_reads_conditions_and_turns_json_scalars_into_strings():
    text = doc({**ALLOW_ALL, "Condition": {
        "Bool": {"aws:SecureTransport": False},
        "NumericLessThan": {"s3:max-keys": [10, 2.5]},
        "ForAnyValue:StringLike": {"aws:TagKeys": ["a*", "b"]}}})
    conditions = parse_policy(text, kind="identity").statements[0].conditions
    assert [(c.operator.name, c.key, c.values) for c in conditions] == [
        ("Bool", "aws:SecureTransport", ("false",)),
        ("NumericLessThan", "s3:max-keys", ("10", "2.5")),
        ("ForAnyValue:StringLike", "aws:TagKeys", ("a*", "b"))]
    assert conditions[2].operator.qualifier == "ForAnyValue"


def test_missing_version_is_allowed_and_kept_as_none():
    assert parse_policy(doc(ALLOW_ALL, version=None), kind="identity").version is None
    assert not parse_policy(doc(ALLOW_ALL, version=None), kind="identity").variables_enabled
    assert parse_policy(doc(ALLOW_ALL, version="2008-10-17"), kind="identity").version


@pytest.mark.parametrize(("principal", "expected"), [
    ({"Service": "rolesanywhere.amazonaws.com"},
     Principal(service=("rolesanywhere.amazonaws.com",))),
    ({"AWS": ["123456789012", "arn:aws:iam::123456789012:role/a/b"]},
     Principal(aws=("123456789012", "arn:aws:iam::123456789012:role/a/b"))),
    ({"AWS": "*"}, Principal(aws=("*",))),
    ({"Federated": "arn:aws:iam::123456789012:saml-provider/Okta"},
     Principal(federated=("arn:aws:iam::123456789012:saml-provider/Okta",))),
    ({"Federated": "cognito-identity.amazonaws.com"},
     Principal(federated=("cognito-identity.amazonaws.com",))),
])
def test_trust_policy_principal_forms(principal, expected):
    text = doc({**TRUST, "Principal": principal})
    assert parse_policy(text, kind="trust").statements[0].principal == expected


def test_resource_policy_accepts_star_and_canonical_user():
    text = doc({**ALLOW_ALL, "Principal": "*"})
    assert parse_policy(text, kind="resource").statements[0].principal == Principal(anyone=True)
    canonical = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    text = doc({**ALLOW_ALL, "Principal": {"CanonicalUser": canonical}})
    assert parse_policy(text, kind="resource").statements[0].principal.canonical_user


@pytest.mark.parametrize(("kind", "text", "message"), [
    # JSON and top-level structure
    ("identity", "{not json", "Syntax errors in policy."),
    ("session", "[]", "Syntax errors in policy."),
    ("trust", "{not json", "This policy contains invalid Json"),
    ("identity", '{"Statement": [], "Statement": []}', "Syntax errors in policy."),
    ("identity", doc(ALLOW_ALL, Foo="bar"), "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Foo": "bar"}), "Syntax errors in policy."),
    ("identity", json.dumps({"Version": "2012-10-17"}), "Syntax errors in policy."),
    ("identity", doc(version="2012-10-17"), "Syntax errors in policy."),
    ("trust", doc(version="2012-10-17"), "Could not parse the policy: Statement is empty!"),
    ("identity", doc(ALLOW_ALL, version="2012-10-18"), "Syntax errors in policy."),
    ("trust", doc(TRUST, version="2013-01-01"),
     "The policy must contain a valid version string"),
    ("identity", doc(ALLOW_ALL, Id=5), "Syntax errors in policy."),
    # Effect
    ("identity", doc({"Action": "*", "Resource": "*"}), "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Effect": "Permit"}), "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Effect": "allow"}), "The policy failed legacy parsing"),
    ("trust", doc({k: v for k, v in TRUST.items() if k != "Effect"}),
     "Missing required field Effect"),
    ("trust", doc({**TRUST, "Effect": "Permit"}), "Invalid effect: Permit"),
    # Action / NotAction
    ("identity", doc({"Effect": "Allow", "Resource": "*"}),
     "Policy statement must contain actions."),
    ("identity", doc({**ALLOW_ALL, "Action": []}), "Policy statement must contain actions."),
    ("identity", doc({**ALLOW_ALL, "NotAction": "s3:*"}), "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Action": 5}), "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Action": "GetObject"}),
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("identity", doc({**ALLOW_ALL, "Action": "s3:Get:Object"}),
     "Actions/Condition can contain only one colon."),
    ("identity", doc({**ALLOW_ALL, "Action": "s 3:GetObject"}), "Vendor s 3 is not valid"),
    ("trust", doc({k: v for k, v in TRUST.items() if k != "Action"}),
     "Missing required field Action"),
    ("trust", doc({**TRUST, "Action": "s3:GetObject"}),
     "AssumeRole policy may only specify STS AssumeRole actions."),
    ("trust", doc({**TRUST, "Action": "sts:GetCallerIdentity"}),
     "AssumeRole policy may only specify STS AssumeRole actions."),
    # Resource / NotResource
    ("identity", doc({"Effect": "Allow", "Action": "*"}),
     "Policy statement must contain resources."),
    ("session", doc({**ALLOW_ALL, "Resource": []}), "Policy statement must contain resources."),
    ("identity", doc({**ALLOW_ALL, "NotResource": "*"}), "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Resource": "my-bucket"}),
     'Resource my-bucket must be in ARN format or "*".'),
    ("identity", doc({**ALLOW_ALL, "Resource": "arn:foo:s3:::b"}),
     'Partition "foo" is not valid for resource "arn:foo:s3:::b".'),
    ("identity", doc({**ALLOW_ALL, "Resource": "arn:foo:s3"}),
     'Partition "foo" is not valid for resource "arn:foo:s3:*:*:*".'),
    ("identity", doc({**ALLOW_ALL, "Resource": "arn:aws:iam:us-east-1:123456789012:role/x"}),
     "IAM resource arn:aws:iam:us-east-1:123456789012:role/x cannot contain region "
     "information."),
    ("identity", doc({**ALLOW_ALL, "Resource": "arn:aws:*:::b"}),
     "Resource vendor must be fully qualified and cannot contain regexes."),
    ("identity", doc({**ALLOW_ALL, "Resource": "arn:aws:s3::b"}),
     "The policy failed legacy parsing"),
    ("trust", doc({**TRUST, "Resource": "*"}), "Has prohibited field Resource"),
    ("trust", doc({**TRUST, "NotResource": "*"}),
     "AssumeRole policy must not contain resources."),
    # Principal / NotPrincipal
    ("identity", doc({**ALLOW_ALL, "Principal": "*"}),
     "Policy document should not specify a principal."),
    ("session", doc({**ALLOW_ALL, "NotPrincipal": {"AWS": "123456789012"}}),
     "Policy document should not specify a principal."),
    ("trust", doc({k: v for k, v in TRUST.items() if k != "Principal"}),
     "Missing required field Principal"),
    ("resource", doc(ALLOW_ALL), "Missing required field Principal"),
    ("trust", doc({**TRUST, "Principal": "*"}),
     'AssumeRolepolicy contained an invalid principal: "STAR":"*".'),
    ("trust", doc({**TRUST, "Principal": {}}), "Missing required field Principal"),
    ("trust", doc({**TRUST, "Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}}),
     'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*"'),
    ("trust", doc({**TRUST, "Principal": {"AWS": "alice"}}),
     'Invalid principal in policy: "AWS":"alice"'),
    ("trust", doc({**TRUST, "Principal": {"Service": "roles anywhere"}}),
     'Invalid principal in policy: "SERVICE":"roles anywhere"'),
    ("trust", doc({**TRUST, "Principal": {"Group": "admins"}}),
     'Invalid principal in policy: "Group"'),
    ("trust", doc({**TRUST, "Principal": {"CanonicalUser": "abc"}}),
     'Invalid principal in policy: "CanonicalUser"'),
    ("trust", doc({**TRUST, "Effect": "Deny", "Principal": None,
                   "NotPrincipal": {"AWS": "123456789012"}}),
     "Syntax errors in policy."),
    ("trust", doc({**{k: v for k, v in TRUST.items() if k != "Principal"},
                   "NotPrincipal": {"AWS": "123456789012"}}),
     "Allow with NotPrincipal is not allowed."),
    ("resource", doc({**ALLOW_ALL, "Principal": "alice"}), "Invalid principal in policy"),
    # Sid
    ("identity", doc({**ALLOW_ALL, "Sid": "a"}, {**ALLOW_ALL, "Sid": "a"}),
     "Statement IDs (SID) in a single policy must be unique."),
    ("trust", doc({**TRUST, "Sid": "a"}, {**TRUST, "Sid": "a"}),
     "The Statement Ids in the policy are not unique"),
    ("identity", doc({**ALLOW_ALL, "Sid": "Atomic_Red_Team"}),
     "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
     "regular expression [0-9A-Za-z]*"),
    ("identity", doc({**ALLOW_ALL, "Sid": 7}), "Syntax errors in policy."),
    # Condition
    ("identity", doc({**ALLOW_ALL, "Condition": {"StringEqual": {"a:b": "c"}}}),
     "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Condition": {"StringEquals": "a:b"}}),
     "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Condition": {"StringEquals": {"a:b": None}}}),
     "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Condition": {"StringEquals": {"a:b": {"c": "d"}}}}),
     "Syntax errors in policy."),
    ("identity", doc({**ALLOW_ALL, "Condition": {"DateLessThan": {"aws:CurrentTime": "x"}}}),
     "The policy failed legacy parsing"),
    ("identity", doc({**ALLOW_ALL, "Condition": {"NullIfExists": {"a:b": "true"}}}),
     "Syntax errors in policy."),
])
def test_invalid_documents_get_iams_message(kind, text, message):
    assert error_of(text, kind) == message


def test_malformed_policy_error_carries_iams_code():
    with pytest.raises(MalformedPolicyError) as info:
        parse_policy("{", kind="identity")
    assert info.value.code == "MalformedPolicyDocument" and info.value.status == 400


def test_errors_are_reported_in_iams_order():
    # both the actions and the resources are missing: IAM names the actions first
    assert error_of(doc({"Effect": "Allow"})) == "Policy statement must contain actions."
    # a duplicate Sid is reported before a missing Resource
    assert error_of(doc({"Sid": "a", "Effect": "Allow", "Action": "*"},
                        {"Sid": "a", **ALLOW_ALL})) == \
        "Statement IDs (SID) in a single policy must be unique."


def test_require_current_version_refuses_old_and_missing_versions():
    message = "Policy document must be version 2012-10-17 or greater."
    assert error_of(doc(ALLOW_ALL, version=None), require_current_version=True) == message
    assert error_of(doc(ALLOW_ALL, version="2008-10-17"), require_current_version=True) == message
    assert parse_policy(doc(ALLOW_ALL), kind="identity", require_current_version=True)


def test_size_limit_counts_characters_except_white_space():
    text = doc(ALLOW_ALL)
    assert policy_size(text) == len(text.replace(" ", ""))
    padded = text.replace(",", ",    \n\t")
    assert parse_policy(padded, kind="identity", max_size=policy_size(text))
    with pytest.raises(PolicyTooLargeError) as info:
        parse_policy(text, kind="trust", max_size=policy_size(text) - 1)
    assert info.value.code == "LimitExceeded"
    assert info.value.message == f"Cannot exceed quota for ACLSizePerRole: {policy_size(text) - 1}"
    assert isinstance(info.value, MalformedPolicyError)
    assert DEFAULT_MAX_SIZE["identity"] == 6144 and DEFAULT_MAX_SIZE["trust"] == 2048


def test_deeply_nested_json_is_a_syntax_error_not_a_crash():
    assert error_of("[" * 100_000 + "]" * 100_000) == "Syntax errors in policy."


def test_nan_is_not_a_json_value():
    text = doc({**ALLOW_ALL, "Condition": {"NumericEquals": {"a:b": float("nan")}}})
    assert error_of(text) == "Syntax errors in policy."


def test_trust_policy_accepts_the_sts_action_family_and_wildcards_within_it():
    for action in ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity",
                   "sts:AssumeRoleWithWebIdentity", "sts:AssumeRole*", "sts:*", "*",
                   "STS:assumerole"):
        assert parse_policy(doc({**TRUST, "Action": action}), kind="trust")


def test_serialisation_writes_the_normal_form():
    text = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}})
    policy = parse_policy(text, kind="trust")
    assert policy.to_json() == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["123456789012"]}, "Action": ["sts:AssumeRole"],
        "Condition": {"StringEquals": {"sts:ExternalId": ["x"]}}}]}
    assert parse_policy(policy.dumps(), kind="trust") == policy


def test_policies_longer_than_any_quota_are_parsed_but_not_memoised() -> None:
    """A caller must not fill the memo with megabyte documents (docs/security.md)."""
    from roleport.iam.policy import document

    long_sid = "S" * (document.MEMO_MAX_CHARS + 1)
    text = ('{"Version": "2012-10-17", "Statement": [{"Sid": "' + long_sid
            + '", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}')
    before = document._parse_policy_memo.cache_info().currsize
    assert document.parse_policy(text, kind="identity").statements[0].sid == long_sid
    assert document._parse_policy_memo.cache_info().currsize == before
    short = text.replace(long_sid, "Short")
    document.parse_policy(short, kind="identity")
    assert document._parse_policy_memo.cache_info().currsize == before + 1
