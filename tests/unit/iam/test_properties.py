"""Properties IAM's documentation states, checked on generated policies and requests."""

from __future__ import annotations

import json
import re
import string
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.iam.policy import (
    RequestContext,
    effect_of,
    evaluate,
    explain_statement,
    parse_policy,
)
from roleport.iam.policy.conditions import NEGATIONS
from roleport.iam.policy.patterns import glob_match
from roleport.iam.policy.variables import render_text

from .helpers import condition_matches

KEY = "aws:PrincipalTag/team"

# values drawn from small pools so that policy and request values often coincide
POOL = st.sampled_from([
    "a", "b", "A", "10", "10.0", "2", "true", "false", "2020-01-01", "2020-01-01T00:00:00Z",
    "1577836800", "10.0.0.1", "10.0.0.0/8", "2001:db8::1", "2001:db8::/32",
    "arn:aws:s3:::a", "arn:aws:s3:::*", "arn:aws:iam::123456789012:role/x", "QUJD", "",
])
PLAIN = st.text(alphabet=string.ascii_letters + string.digits + "/-_.:+=@ ()[]^$\\|", max_size=12)
POLICY_VALUES = st.lists(POOL, min_size=1, max_size=3)
# None: the key is absent; []: present with no value (counts as absent)
REQUEST = st.one_of(st.none(), st.just([]), POOL, st.lists(POOL, min_size=1, max_size=3))
NEGATED = st.sampled_from(sorted(NEGATIONS))
POSITIVE_BASES = sorted(set(NEGATIONS.values()) | {
    "NumericLessThan", "NumericGreaterThanEquals", "DateLessThan", "Bool", "BinaryEquals"})


def context(value):
    return {} if value is None else {KEY: value}


@given(NEGATED, POLICY_VALUES, REQUEST)
def test_a_negated_operator_is_the_negation_of_its_positive_twin(negated, values, request):
    positive = NEGATIONS[negated]
    assert condition_matches(negated, KEY, values, context(request)) is \
        (not condition_matches(positive, KEY, values, context(request)))


@given(NEGATED, POLICY_VALUES, REQUEST)
def test_for_all_values_of_a_negation_is_not_for_any_value_of_the_positive(negated, values,
                                                                          request):
    positive = NEGATIONS[negated]
    ctx = context(request)
    assert condition_matches(f"ForAllValues:{negated}", KEY, values, ctx) is \
        (not condition_matches(f"ForAnyValue:{positive}", KEY, values, ctx))
    assert condition_matches(f"ForAnyValue:{negated}", KEY, values, ctx) is \
        (not condition_matches(f"ForAllValues:{positive}", KEY, values, ctx))


@given(st.sampled_from(POSITIVE_BASES + sorted(NEGATIONS)), POLICY_VALUES,
       st.sampled_from([None, []]))
def test_set_qualifiers_over_an_absent_or_empty_key(base, values, request):
    assert condition_matches(f"ForAllValues:{base}", KEY, values, context(request))
    assert not condition_matches(f"ForAnyValue:{base}", KEY, values, context(request))


@given(st.sampled_from(POSITIVE_BASES + sorted(NEGATIONS)), POLICY_VALUES,
       st.one_of(POOL, st.lists(POOL, min_size=1, max_size=3)))
def test_if_exists_changes_nothing_when_the_key_is_present(base, values, request):
    assert condition_matches(f"{base}IfExists", KEY, values, context(request)) is \
        condition_matches(base, KEY, values, context(request))


@given(st.sampled_from(POSITIVE_BASES), POLICY_VALUES)
def test_positive_operators_never_match_an_absent_key(base, values):
    assert not condition_matches(base, KEY, values, {})
    assert condition_matches(f"{base}IfExists", KEY, values, {})


@given(st.lists(PLAIN, min_size=1, max_size=3), st.one_of(PLAIN, st.lists(PLAIN, max_size=3)))
def test_string_like_without_wildcards_is_string_equals(values, request):
    ctx = context(request)
    assert condition_matches("StringLike", KEY, values, ctx) is \
        condition_matches("StringEquals", KEY, values, ctx)


@given(st.one_of(PLAIN, st.lists(PLAIN, min_size=1, max_size=3)))
def test_a_lone_star_matches_any_present_value(request):
    assert condition_matches("StringLike", KEY, "*", context(request))
    assert glob_match("*", request if isinstance(request, str) else "x")


@given(PLAIN, st.data())
def test_question_marks_and_stars_match_what_they_stand_for(value, data):
    pattern = "".join(
        data.draw(st.sampled_from([ch, "?", "*" + ch if ch != "*" else ch]))
        for ch in value)
    assert glob_match(pattern, value)


@given(PLAIN, PLAIN)
def test_patterns_without_wildcards_match_only_themselves(pattern, value):
    assert glob_match(pattern, value) is (pattern == value)


@given(st.text(alphabet="ab:*?", max_size=10), st.text(alphabet="ab:", max_size=10))
def test_glob_match_agrees_with_a_regular_expression(pattern, value):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    assert glob_match(pattern, value) is (re.fullmatch(regex, value, re.DOTALL) is not None)


def test_wildcard_matching_stays_fast_on_pathological_patterns():
    start = time.perf_counter()
    assert not glob_match("*a" * 40 + "b", "a" * 10_000)
    assert not condition_matches("ArnLike", KEY, "arn:aws:s3:::" + "*a" * 40 + "b",
                                 {KEY: "arn:aws:s3:::" + "a" * 10_000})
    assert time.perf_counter() - start < 2


@given(PLAIN, PLAIN)
def test_action_matching_ignores_case(pattern, value):
    assert glob_match(pattern, value.swapcase(), ignore_case=True) is \
        glob_match(pattern.swapcase(), value, ignore_case=True)


@given(st.text(max_size=30).filter(lambda s: "${" not in s))
def test_text_without_references_renders_unchanged(text):
    assert render_text(text, lambda name: None) == text


# -- generated documents ---------------------------------------------------------------

ACTIONS = st.sampled_from(["s3:GetObject", "s3:*", "*", "iam:Create*", "s3:Get?bject",
                           "ec2:RunInstances", "S3:getobject"])
RESOURCES = st.sampled_from(["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/x", "arn:aws:s3:::*",
                             "arn:aws:iam::123456789012:user/${aws:username}"])
CONDITION_VALUES = {
    "StringEquals": POOL, "ForAnyValue:StringLike": st.sampled_from(["a*", "b", "*"]),
    "StringNotEqualsIfExists": POOL, "ArnLike": st.sampled_from(["arn:aws:s3:::*", "*"]),
    "NumericLessThan": st.sampled_from(["10", "2.5"]), "Bool": st.sampled_from(["true", "false"]),
    "DateGreaterThan": st.sampled_from(["2020-01-01", "1577836800"]),
    "IpAddress": st.sampled_from(["10.0.0.0/8", "2001:db8::/32"]), "Null": st.just("true"),
    "ForAllValues:StringEquals": POOL,
}
CONDITION = st.sampled_from(sorted(CONDITION_VALUES)).flatmap(
    lambda op: st.tuples(st.just(op), st.lists(CONDITION_VALUES[op], min_size=1, max_size=2)))


@st.composite
def statements(draw, effect=None):
    out = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    out[draw(st.sampled_from(["Action", "NotAction"]))] = draw(
        st.lists(ACTIONS, min_size=1, max_size=3))
    out[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(
        st.one_of(RESOURCES, st.lists(RESOURCES, min_size=1, max_size=2)))
    conditions = draw(st.lists(CONDITION, max_size=3))
    if conditions:
        block: dict = {}
        for op, values in conditions:
            block.setdefault(op, {})[KEY if op != "Null" else "aws:TokenIssueTime"] = values
        out["Condition"] = block
    return out


@st.composite
def documents(draw):
    body = draw(st.lists(statements(), min_size=1, max_size=4))
    for index, statement in enumerate(body):
        if draw(st.booleans()):
            statement["Sid"] = f"S{index}"
    doc = {"Statement": body if len(body) > 1 or draw(st.booleans()) else body[0]}
    version = draw(st.sampled_from(["2012-10-17", "2008-10-17", None]))
    if version:
        doc["Version"] = version
    return json.dumps(doc)


REQUESTS = st.builds(
    lambda action, resource, team, user: RequestContext(
        action=action, resource=resource,
        context={**context(team), **({"aws:username": user} if user else {})}),
    st.sampled_from(["s3:GetObject", "s3:PutObject", "iam:CreateUser", "ec2:RunInstances"]),
    st.sampled_from(["arn:aws:s3:::b/x", "arn:aws:s3:::c/y", "arn:aws:iam::123456789012:user/a"]),
    REQUEST, st.sampled_from([None, "a"]))


@settings(max_examples=200)
@given(documents())
def test_parse_of_serialise_is_the_same_document(text):
    doc = parse_policy(text, kind="identity")
    assert parse_policy(doc.dumps(), kind="identity") == doc
    assert parse_policy(json.dumps(doc.to_json(), indent=2), kind="session") == doc


@settings(max_examples=200)
@given(documents(), statements(effect="Deny"), REQUESTS, st.data())
def test_an_applying_deny_always_wins(text, deny, ctx, data):
    doc = parse_policy(text, kind="identity")
    deny_doc = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
                            kind="identity")
    policies = data.draw(st.permutations([doc, deny_doc]))
    decision = evaluate(policies, ctx)
    deny_applies, _ = explain_statement(deny_doc.statements[0], ctx)
    if deny_applies:
        assert decision.effect == "ExplicitDeny" and not decision.allowed
    allow_all = parse_policy('{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}',
                             kind="identity")
    with_allow = evaluate([allow_all, *policies], ctx)
    assert with_allow.allowed is (decision.effect != "ExplicitDeny")


@settings(max_examples=200)
@given(documents(), REQUESTS)
def test_the_decision_agrees_with_the_statement_trace(text, ctx):
    decision = evaluate([parse_policy(text, kind="identity")], ctx)
    applying = {t.effect for t in decision.trace if t.applies}
    expected = ("ExplicitDeny" if "Deny" in applying else
                "Allow" if "Allow" in applying else "ImplicitDeny")
    assert decision.effect == expected
    assert decision.allowed is (expected == "Allow")
    assert (decision.deciding_statement is None) is (expected == "ImplicitDeny")


@settings(max_examples=300)
@given(st.lists(documents(), min_size=1, max_size=3), REQUESTS,
       st.sampled_from(["s3:GetObject", "iam:CreateUser", "sts:AssumeRole"]))
def test_the_unexplained_decision_is_the_explained_one(texts, ctx, action):
    """effect_of is evaluate without the explanation: same effect, for any action too."""
    policies = [parse_policy(t, kind="identity") for t in texts]
    assert effect_of(policies, ctx) == evaluate(policies, ctx).effect
    other = ctx.with_action(action)
    assert other.action == action
    assert other.values("aws:username") == ctx.values("aws:username")
    assert effect_of(policies, other) == evaluate(
        policies, RequestContext(action=action, resource=ctx.resource, principal=ctx.principal,
                                 context=ctx.context)).effect
