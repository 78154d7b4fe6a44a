"""Condition operators, with the examples of the IAM user guide as tables.

Pages: "IAM JSON policy elements: Condition operators", "Multivalued context key
examples", "Single-valued vs. multivalued context keys".
"""

from __future__ import annotations

import pytest

from roleport.iam.policy import parse_operator
from roleport.iam.policy.conditions import OPERATORS, parse_date

from .helpers import condition_matches

MISSING: dict[str, object] = {}


@pytest.mark.parametrize(("operator", "key", "values", "context", "expected"), [
    # String operators
    ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin",
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
    ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin",
     {"aws:PrincipalTag/job-category": "dev-ops"}, False),
    ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", MISSING, False),
    ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin",
     {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, False),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/job-category", "iamuser-admin",
     {"aws:PrincipalTag/job-category": "IAMUser-Admin"}, True),
    ("StringNotEquals", "aws:PrincipalTag/job-category", "iamuser-admin",
     {"aws:PrincipalTag/job-category": "dev-ops"}, True),
    ("StringNotEquals", "aws:PrincipalTag/job-category", "iamuser-admin", MISSING, True),
    ("StringNotEqualsIgnoreCase", "aws:PrincipalTag/job-category", "iamuser-admin",
     {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, False),
    ("StringLike", "s3:prefix", ["", "home/", "home/${aws:username}/*"],
     {"s3:prefix": "home/johndoe/photos", "aws:username": "johndoe"}, True),
    ("StringLike", "s3:prefix", ["", "home/", "home/${aws:username}/*"],
     {"s3:prefix": "home/janedoe/photos", "aws:username": "johndoe"}, False),
    ("StringLike", "s3:prefix", ["", "home/"], {"s3:prefix": ""}, True),
    ("StringLike", "aws:PrincipalTag/job-category", "iamuser?admin",
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
    ("StringLike", "aws:PrincipalTag/job-category", "IAMUSER*",
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, False),  # case-sensitive
    ("StringNotLike", "s3:prefix", "home/*", MISSING, True),
    ("StringNotLike", "s3:prefix", "home/*", {"s3:prefix": "home/x"}, False),
    # Numeric
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, False),
    ("NumericLessThanEquals", "s3:max-keys", "10", MISSING, False),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "9.5"}, True),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "1e2"}, True),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10.0"}, True),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "010"}, True),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "ten"}, False),
    ("NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": "ten"}, True),
    ("NumericNotEquals", "s3:max-keys", ["10", "20"], {"s3:max-keys": "20"}, False),
    # Date: ISO 8601 and epoch seconds, either side
    ("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z",
     {"aws:TokenIssueTime": "2020-01-01T00:00:02Z"}, True),
    ("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z",
     {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"}, False),
    ("DateLessThan", "aws:CurrentTime", "2013-06-30T00:00:00Z",
     {"aws:CurrentTime": "2013-06-29T12:00:00Z"}, True),
    ("DateLessThanEquals", "aws:EpochTime", "1577836800",
     {"aws:EpochTime": "2020-01-01T00:00:00Z"}, True),
    ("DateEquals", "aws:CurrentTime", "2020-01-01", {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
     True),
    ("DateEquals", "aws:CurrentTime", "2020-01-01T01:00:00+01:00",
     {"aws:CurrentTime": "2020-01-01T00:00:00Z"}, True),
    ("DateNotEquals", "aws:CurrentTime", "2020-01-01", MISSING, True),
    ("DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01", {"aws:CurrentTime": "soon"},
     False),
    # Bool
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"}, True),
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "false"}, False),
    ("Bool", "aws:SecureTransport", "true", MISSING, False),
    ("Bool", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": "FALSE"},
     True),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", MISSING, True),
    # Binary
    ("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==",
     {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, True),
    ("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", {"key": "AAAA"}, False),
    # IP addresses, v4 and v6
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.5"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.114.5"}, False),
    ("IpAddress", "aws:SourceIp", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"],
     {"aws:SourceIp": "2001:db8:1234:5678::1"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.7", {"aws:SourceIp": "203.0.113.7"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "not-an-ip"}, False),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "192.0.2.1"}, True),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", MISSING, True),
    # ARNs: six parts, each matched on its own
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic",
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:cloudtrail:*:111122223333:trail/*",
     {"aws:SourceArn": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:cloudtrail:*:111122223333:trail/*",
     {"aws:SourceArn": "arn:aws:cloudtrail:eu-west-1:444455556666:trail/main"}, False),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::*", {"aws:SourceArn": "arn:aws:s3:::b:x"}, True),
    # a wildcard inside one part does not swallow the next part
    ("ArnLike", "aws:SourceArn", "arn:aws:iam::*:role/x",
     {"aws:SourceArn": "arn:aws:iam:us-east-1:111122223333:role/x"}, False),
    ("ArnLike", "aws:SourceArn", "arn:aws:iam::*", {"aws:SourceArn": "arn:aws:iam::1:role/x"},
     False),
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:TOPIC",
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, False),
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic",
     {"aws:SourceArn": "not-an-arn"}, False),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:*", MISSING, True),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic",
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:other"}, True),
    # Null
    ("Null", "aws:TokenIssueTime", "true", MISSING, True),
    ("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
     False),
    ("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
     True),
    ("Null", "aws:TagKeys", "true", {"aws:TagKeys": []}, True),
    # IfExists
    ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], MISSING, True),
    ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"],
     {"ec2:InstanceType": "t2.micro"}, True),
    ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"],
     {"ec2:InstanceType": "m5.large"}, False),
    ("NumericLessThanIfExists", "s3:max-keys", "10", {"s3:max-keys": "11"}, False),
])
def test_condition_operator_matches_like_iam_documents(operator, key, values, context,
                                                       expected):
    assert condition_matches(operator, key, values, context) is expected


# "Multivalued context key examples": Deny statements; True = the condition matches.
@pytest.mark.parametrize(("operator", "values", "tag_keys", "expected"), [
    ("ForAllValues:StringNotLike", "key1*", ["key1:legal"], False),
    ("ForAllValues:StringNotLike", "key1*", ["key1:hr", "key1:personnel"], False),
    ("ForAllValues:StringNotLike", "key1*", ["key2:audit"], True),
    ("ForAllValues:StringNotLike", "key1*", None, True),
    ("ForAllValues:StringNotLike", ["key1*", "key2*"], ["key1:legal"], False),
    ("ForAllValues:StringNotLike", ["key1*", "key2*"], ["key1:hr", "key2:audit"], False),
    ("ForAllValues:StringNotLike", ["key1*", "key2*"], ["key3:legal"], True),
    ("ForAllValues:StringNotLike", ["key1*", "key2*"], None, True),
    ("ForAnyValue:StringEquals", "webserver", ["webserver"], True),
    ("ForAnyValue:StringEquals", "webserver", ["environment", "webserver", "test"], True),
    ("ForAnyValue:StringEquals", "webserver", ["environment", "test"], False),
    ("ForAnyValue:StringEquals", "webserver", None, False),
    ("ForAnyValue:StringEquals", ["environment", "webserver"], ["environment"], True),
    ("ForAnyValue:StringEquals", ["environment", "webserver"], ["test"], False),
    ("ForAllValues:StringEquals", ["environment", "cost-center"],
     ["environment", "cost-center"], True),
    ("ForAllValues:StringEquals", ["environment", "cost-center"], ["environment"], True),
    ("ForAllValues:StringEquals", ["environment", "cost-center"],
     ["environment", "cost-center", "owner"], False),
    ("ForAllValues:StringEquals", ["environment", "cost-center"], None, True),
    ("ForAllValues:StringEquals", ["environment", "cost-center"], [], True),
    ("ForAnyValue:StringEquals", ["environment", "cost-center"], [], False),
    ("ForAnyValue:StringNotEquals", ["environment"], ["environment", "owner"], True),
    ("ForAnyValue:StringNotEquals", ["environment"], ["environment"], False),
    ("ForAllValues:StringNotEquals", ["environment"], ["owner", "team"], True),
])
def test_set_qualifiers_follow_the_multivalued_examples(operator, values, tag_keys, expected):
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert condition_matches(operator, "aws:TagKeys", values, context) is expected


def test_multivalued_key_without_qualifier_matches_when_any_value_matches():
    assert condition_matches("StringEquals", "aws:TagKeys", "a", {"aws:TagKeys": ["b", "a"]})
    assert not condition_matches("StringNotEquals", "aws:TagKeys", "a",
                                 {"aws:TagKeys": ["b", "a"]})


def test_condition_key_names_are_case_insensitive():
    context = {"AWS:PRINCIPALTAG/x509Subject/CN": "Alice"}
    assert condition_matches("StringEquals", "aws:PrincipalTag/x509subject/cn", "Alice", context)


def test_condition_values_stay_case_sensitive():
    assert not condition_matches("StringEquals", "aws:PrincipalTag/team", "Blue",
                                 {"aws:PrincipalTag/team": "blue"})


@pytest.mark.parametrize("name", [
    "StringEquals", "ForAnyValue:StringLike", "ForAllValues:ArnNotLikeIfExists",
    "NumericLessThanEqualsIfExists", "Null", "ForAllValues:Null", "BinaryEqualsIfExists",
])
def test_parse_operator_accepts_iam_operators(name):
    assert parse_operator(name) is not None


@pytest.mark.parametrize("name", [
    "StringEqual", "stringequals", "NullIfExists", "ForSomeValues:StringEquals",
    "IfExists", "ForAnyValue:ForAllValues:StringEquals", "StringEqualsIfExistsIfExists",
])
def test_parse_operator_rejects_unknown_operators(name):
    assert parse_operator(name) is None


def test_every_documented_operator_is_known():
    families = ["String" + s for s in ("Equals", "NotEquals", "EqualsIgnoreCase",
                                       "NotEqualsIgnoreCase", "Like", "NotLike")]
    families += [f + s for f in ("Numeric", "Date") for s in (
        "Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")]
    families += ["Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike",
                 "ArnNotEquals", "ArnNotLike", "Null"]
    assert set(families) == set(OPERATORS)


@pytest.mark.parametrize("text", ["2020-01-01", "2020-01-01T10:00:00Z", "2020-01-01t10:00:00z",
                                  "2020-01-01T10:00:00.123+02:00", "1577836800", "0"])
def test_parse_date_reads_iso_8601_and_epoch_seconds(text):
    moment = parse_date(text)
    assert moment is not None and moment.tzinfo is not None


@pytest.mark.parametrize("text", ["", "tomorrow", "2020-13-01", "1e9999999"])
def test_parse_date_refuses_what_is_not_a_date(text):
    assert parse_date(text) is None
