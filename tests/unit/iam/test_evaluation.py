"""evaluate / evaluate_trust_policy / allowed_by_all: decisions and their reasons."""

from __future__ import annotations

import pytest

from roleport.iam.policy import (
    Principal,
    RequestContext,
    allowed_by_all,
    evaluate,
    evaluate_trust_policy,
    principal_matches,
)

from .helpers import policy

ACCOUNT = "123456789012"
ANCHOR = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/TA_ID"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/test-role"
ROLES_ANYWHERE = "rolesanywhere.amazonaws.com"
RA_ACTIONS = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]

# aws-behaviour.md §4.1 (UG-TRUST)
TRUST = policy({
    "Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE}, "Action": RA_ACTIONS,
    "Condition": {"ArnEquals": {"aws:SourceArn": [ANCHOR]},
                  "StringEquals": {"aws:PrincipalTag/x509Issuer/CN": "YourCN"}}}, kind="trust")


def session(context, *, principal=ROLES_ANYWHERE, action="sts:AssumeRole"):
    return RequestContext(principal=principal, action=action, resource=ROLE, context=context)


GOOD = {"aws:SourceArn": ANCHOR, "aws:SourceAccount": ACCOUNT,
        "aws:PrincipalTag/x509Issuer/CN": "YourCN", "aws:PrincipalTag/x509Subject/CN": "Alice"}


class TestRolesAnywhereTrustPolicy:
    def test_allows_the_three_actions_for_the_right_anchor_and_issuer(self):
        decision = evaluate_trust_policy(TRUST, session(GOOD), actions=RA_ACTIONS)
        assert decision.allowed and decision.effect == "Allow"
        assert decision.deciding_statement is not None
        assert decision.deciding_statement.statement_index == 0

    def test_denies_another_trust_anchor(self):
        other = {**GOOD, "aws:SourceArn": ANCHOR.replace("TA_ID", "OTHER")}
        decision = evaluate_trust_policy(TRUST, session(other), actions=RA_ACTIONS)
        assert decision.effect == "ImplicitDeny"
        assert "ArnEquals on aws:SourceArn does not match" in decision.reason

    def test_denies_another_issuer(self):
        decision = evaluate_trust_policy(TRUST, session({**GOOD,
                                                         "aws:PrincipalTag/x509Issuer/CN": "Evil"}))
        assert not decision.allowed
        assert "aws:PrincipalTag/x509Issuer/CN" in decision.reason

    def test_a_dropped_principal_tag_fails_string_equals_but_passes_string_not_equals(self):
        # UG-MAP: "the condition is disregarded when the principal tag is dropped"
        dropped = {k: v for k, v in GOOD.items() if k != "aws:PrincipalTag/x509Issuer/CN"}
        assert not evaluate_trust_policy(TRUST, session(dropped)).allowed
        not_equals = policy({"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
                             "Action": RA_ACTIONS, "Condition": {"StringNotEquals": {
                                 "aws:PrincipalTag/x509Issuer/CN": "Blocked"}}}, kind="trust")
        assert evaluate_trust_policy(not_equals, session(dropped), actions=RA_ACTIONS).allowed

    def test_without_conditions_any_certificate_of_the_account_is_trusted(self):
        bare = policy({"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
                       "Action": RA_ACTIONS}, kind="trust")
        assert evaluate_trust_policy(bare, session({}), actions=RA_ACTIONS).allowed

    def test_missing_set_source_identity_denies_and_says_which_action(self):
        partial = policy({"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
                          "Action": ["sts:AssumeRole", "sts:TagSession"]}, kind="trust")
        decision = evaluate_trust_policy(partial, session({}), actions=RA_ACTIONS)
        assert not decision.allowed
        assert "sts:SetSourceIdentity" in decision.reason

    def test_another_service_principal_is_not_trusted(self):
        decision = evaluate_trust_policy(TRUST, session(GOOD, principal="ec2.amazonaws.com"))
        assert not decision.allowed
        assert "is not in Principal" in decision.reason

    def test_service_principals_match_case_insensitively(self):
        assert evaluate_trust_policy(TRUST, session(GOOD, principal="RolesAnywhere.amazonaws.com"))\
            .allowed

    def test_context_key_names_are_matched_case_insensitively(self):
        lowered = {k.lower(): v for k, v in GOOD.items()}
        assert evaluate_trust_policy(TRUST, session(lowered), actions=RA_ACTIONS).allowed

    def test_split_policy_with_source_identity(self):
        # aws-behaviour.md Appendix D, with the placeholder filled in
        split = policy(
            {"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
             "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
             "Condition": {"StringEquals": {"sts:SourceIdentity": ["CN=Alice"]},
                           "ArnEquals": {"aws:SourceArn": [ANCHOR]}}},
            {"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
             "Action": ["sts:TagSession"],
             "Condition": {"StringEquals": {"aws:PrincipalTag/x509Issuer/CN": "YourCN"}}},
            kind="trust")
        ok = session({**GOOD, "sts:SourceIdentity": "CN=Alice"})
        assert evaluate_trust_policy(split, ok, actions=RA_ACTIONS).allowed
        bob = session({**GOOD, "sts:SourceIdentity": "CN=Bob"})
        decision = evaluate_trust_policy(split, bob, actions=RA_ACTIONS)
        assert not decision.allowed and "sts:SourceIdentity" in decision.reason

    def test_the_documentation_placeholder_is_an_unresolved_variable(self):
        placeholder = "${sourceIdentityPrefix}${sourceIdentityValue}"
        literal = policy({"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
                          "Action": "sts:AssumeRole", "Condition": {"StringEquals": {
                              "sts:SourceIdentity": placeholder}}}, kind="trust")
        decision = evaluate_trust_policy(literal, session({"sts:SourceIdentity": "CN=Alice"}))
        assert not decision.allowed and "${sourceIdentityPrefix}" in decision.reason

    def test_multi_valued_ou_is_one_slash_joined_string(self):
        ou = policy({"Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
                     "Action": "sts:AssumeRole", "Condition": {"StringLike": {
                         "aws:PrincipalTag/x509Subject/OU": "*/Engineering/*"}}}, kind="trust")
        ctx = session({"aws:PrincipalTag/x509Subject/OU": "Security/Engineering/Research"})
        assert evaluate_trust_policy(ou, ctx).allowed


class TestDecisions:
    def test_default_deny_without_statements_that_apply(self):
        doc = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
        decision = evaluate([doc], RequestContext(action="s3:PutObject"))
        assert decision.effect == "ImplicitDeny" and decision.deciding_statement is None
        assert "action s3:PutObject is not in Action" in decision.reason

    def test_no_policies_at_all_is_an_implicit_deny(self):
        decision = evaluate([], RequestContext(action="s3:GetObject"))
        assert decision.effect == "ImplicitDeny" and "no Allow statement" in decision.reason

    def test_explicit_deny_wins_over_allow_in_another_policy(self):
        allow = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
        deny = policy({"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*",
                       "Resource": "*"})
        decision = evaluate([allow, deny], RequestContext(action="s3:DeleteObject"))
        assert decision.effect == "ExplicitDeny"
        ref = decision.deciding_statement
        assert (ref.policy_index, ref.statement_index, ref.sid) == (1, 0, "NoDelete")
        assert 'policy 1 statement 0 (Sid "NoDelete") denies it' in decision.reason

    def test_trace_lists_every_statement(self):
        doc = policy({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
                     {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        decision = evaluate([doc], RequestContext(action="s3:GetObject",
                                                  context={"aws:SecureTransport": "true"}))
        assert decision.allowed
        assert [(t.effect, t.applies) for t in decision.trace] == [("Allow", True),
                                                                    ("Deny", False)]

    @pytest.mark.parametrize(("pattern", "action", "expected"), [
        ("s3:GetObject", "s3:getobject", True),
        ("S3:Get*", "s3:GetObjectAcl", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get", "s3:GetObject", False),
        ("*", "iam:CreateRole", True),
        ("s3:*", "s3express:CreateSession", False),
    ])
    def test_actions_match_case_insensitively_with_wildcards(self, pattern, action, expected):
        doc = policy({"Effect": "Allow", "Action": pattern, "Resource": "*"})
        assert evaluate([doc], RequestContext(action=action)).allowed is expected

    @pytest.mark.parametrize(("pattern", "resource", "expected"), [
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.jpg", True),
        ("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1/2/test/3/object.jpg", True),
        ("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1-test/object.jpg", False),
        ("arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", False),
        ("arn:aws:dynamodb:*:123456789012:table/*",
         "arn:aws:dynamodb:us-east-1:123456789012:table/books", True),
        ("arn:aws:s3:::*", "arn:aws:s3:::bucket:with:colons", True),
        ("*", "arn:aws:anything:::x", True),
    ])
    def test_resources_match_case_sensitively_with_wildcards(self, pattern, resource, expected):
        doc = policy({"Effect": "Allow", "Action": "*", "Resource": pattern})
        assert evaluate([doc], RequestContext(action="s3:GetObject",
                                              resource=resource)).allowed is expected

    def test_not_action_applies_to_every_other_action(self):
        doc = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        assert evaluate([doc], RequestContext(action="s3:GetObject")).allowed
        decision = evaluate([doc], RequestContext(action="iam:CreateUser"))
        assert not decision.allowed and "excluded by NotAction" in decision.reason

    def test_not_resource_applies_to_every_other_resource(self):
        doc = policy({"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::safe/*"},
                     {"Effect": "Allow", "Action": "*", "Resource": "*"})
        assert evaluate([doc], RequestContext(action="s3:GetObject",
                                              resource="arn:aws:s3:::safe/x")).allowed
        assert evaluate([doc], RequestContext(action="s3:GetObject",
                                              resource="arn:aws:s3:::other/x")).effect \
            == "ExplicitDeny"

    def test_conditions_within_a_statement_are_and_ed(self):
        doc = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
            "StringEquals": {"aws:PrincipalTag/team": "blue", "aws:RequestedRegion": "eu-west-1"},
            "Bool": {"aws:SecureTransport": "true"}}})
        both = {"aws:PrincipalTag/team": "blue", "aws:RequestedRegion": "eu-west-1",
                "aws:SecureTransport": "true"}
        assert evaluate([doc], RequestContext(action="s3:GetObject", context=both)).allowed
        for missing in both:
            partial = {k: v for k, v in both.items() if k != missing}
            assert not evaluate([doc], RequestContext(action="s3:GetObject",
                                                      context=partial)).allowed


def test_request_context_reads_booleans_and_numbers_as_iam_strings():
    ctx = RequestContext(action="s3:ListBucket",
                         context={"aws:SecureTransport": True, "s3:max-keys": 10,
                                  "aws:TagKeys": ["a", "b"], "aws:Empty": []})
    assert ctx.values("AWS:SECURETRANSPORT") == ("true",)
    assert ctx.values("s3:max-keys") == ("10",)
    assert ctx.values("aws:tagkeys") == ("a", "b")
    assert ctx.values("aws:Empty") == () and ctx.values("aws:Other") is None
    assert ctx.variable("s3:max-keys") == "10" and ctx.variable("aws:TagKeys") is None


class TestPrincipals:
    @pytest.mark.parametrize(("principal", "who", "kind", "expected"), [
        (Principal(anyone=True), None, None, True),
        (Principal(anyone=True), ROLES_ANYWHERE, None, True),
        (Principal(aws=("*",)), f"arn:aws:iam::{ACCOUNT}:user/alice", None, True),
        (Principal(aws=("*",)), ROLES_ANYWHERE, None, False),
        (Principal(aws=(ACCOUNT,)), f"arn:aws:iam::{ACCOUNT}:user/alice", None, True),
        (Principal(aws=(ACCOUNT,)), "arn:aws:iam::111122223333:user/alice", None, False),
        (Principal(aws=(f"arn:aws:iam::{ACCOUNT}:root",)),
         f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s", None, True),
        (Principal(aws=(f"arn:aws:iam::{ACCOUNT}:root",)), ACCOUNT, None, True),
        (Principal(aws=(f"arn:aws:iam::{ACCOUNT}:role/path/app",)),
         f"arn:aws:iam::{ACCOUNT}:role/path/app", None, True),
        (Principal(aws=(f"arn:aws:iam::{ACCOUNT}:role/path/app",)),
         f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session-1", None, True),
        (Principal(aws=(f"arn:aws:iam::{ACCOUNT}:role/app",)),
         f"arn:aws:sts::{ACCOUNT}:assumed-role/app2/s", None, False),
        (Principal(aws=(f"arn:aws:iam::{ACCOUNT}:user/alice",)),
         f"arn:aws:iam::{ACCOUNT}:user/alicia", None, False),
        (Principal(service=(ROLES_ANYWHERE,)), ROLES_ANYWHERE, "Service", True),
        (Principal(service=(ROLES_ANYWHERE,)), ROLES_ANYWHERE, "AWS", False),
        (Principal(federated=("accounts.google.com",)), "accounts.google.com", "Federated",
         True),
        (Principal(service=(ROLES_ANYWHERE,)), None, None, False),
    ])
    def test_principal_matching(self, principal, who, kind, expected):
        assert principal_matches(principal, who, kind) is expected

    def test_identity_statements_apply_to_whoever_holds_them(self):
        doc = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
        assert evaluate([doc], RequestContext(action="s3:GetObject",
                                              principal="arn:aws:iam::1:user/x")).allowed

    def test_not_principal_in_a_deny_spares_the_named_principal(self):
        doc = policy({"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                      "Action": "*", "Resource": "*"},
                     {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                     kind="resource")
        ours = RequestContext(action="s3:GetObject", principal=f"arn:aws:iam::{ACCOUNT}:user/a")
        theirs = RequestContext(action="s3:GetObject", principal="arn:aws:iam::999999999999:root")
        assert evaluate([doc], ours).allowed
        assert evaluate([doc], theirs).effect == "ExplicitDeny"


class TestAllowedByAll:
    IDENTITY = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    SESSION = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                     kind="session")

    def test_the_intersection_allows_only_what_both_allow(self):
        get = RequestContext(action="s3:GetObject")
        put = RequestContext(action="s3:PutObject")
        assert allowed_by_all([[self.IDENTITY], [self.SESSION]], get).allowed
        decision = allowed_by_all([[self.IDENTITY], [self.SESSION]], put)
        assert decision.effect == "ImplicitDeny" and "policy set 1" in decision.reason

    def test_session_policies_never_grant_more(self):
        broad = policy({"Effect": "Allow", "Action": "*", "Resource": "*"}, kind="session")
        ctx = RequestContext(action="iam:CreateUser")
        assert not allowed_by_all([[self.IDENTITY], [broad]], ctx).allowed

    def test_an_empty_set_does_not_restrict(self):
        assert allowed_by_all([[self.IDENTITY], []], RequestContext(action="s3:PutObject")).allowed
        assert not allowed_by_all([[], []], RequestContext(action="s3:PutObject")).allowed

    def test_a_deny_in_any_set_wins(self):
        deny = policy({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
                      kind="session")
        decision = allowed_by_all([[self.IDENTITY], [self.SESSION, deny]],
                                  RequestContext(action="s3:GetObject"))
        assert decision.effect == "ExplicitDeny"
        ref = decision.deciding_statement
        assert (ref.policy_set, ref.policy_index) == (1, 1)
