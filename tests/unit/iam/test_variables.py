"""Policy variables (IAM user guide: "IAM policy elements: Variables and tags")."""

from __future__ import annotations

import pytest

from roleport.iam.policy import RequestContext, evaluate
from roleport.iam.policy.variables import (
    Chunk,
    UnresolvedVariable,
    Variable,
    parse_template,
    render,
    render_text,
)

from .helpers import condition_matches, policy


def lookup(values):
    return lambda name: values.get(name.lower())


def test_parse_template_finds_variables_and_defaults():
    assert parse_template("arn:aws:s3:::b-${aws:PrincipalTag/team, 'company-wide'}/*") == (
        Chunk("arn:aws:s3:::b-"), Variable("aws:PrincipalTag/team", "company-wide"), Chunk("/*"))
    assert parse_template("home/${aws:username}/") == (
        Chunk("home/"), Variable("aws:username"), Chunk("/"))


def test_templates_without_variables_or_in_old_documents_are_plain_text():
    assert parse_template("a*b") == (Chunk("a*b"),)
    assert parse_template("${aws:username}", variables=False) == (Chunk("${aws:username}"),)


@pytest.mark.parametrize("text", ["${}", "${a, b}", "${a, 'b}", "${unclosed", "$ {x}"])
def test_malformed_references_stay_text(text):
    assert "".join(c.text for c in render(parse_template(text), lookup({}))) == text


def test_special_characters_render_as_literal_text():
    rendered = render(parse_template("a${*}b${?}c${$}{x}"), lookup({}))
    assert rendered == (Chunk("a"), Chunk("*", True), Chunk("b"), Chunk("?", True),
                        Chunk("c"), Chunk("$", True), Chunk("{x}"))


def test_render_substitutes_values_and_defaults():
    values = {"aws:username": "alice"}
    assert render_text("home/${aws:username}/", lookup(values)) == "home/alice/"
    assert render_text("${aws:PrincipalTag/team, 'company-wide'}", lookup(values)) == \
        "company-wide"


def test_render_raises_for_an_unresolved_variable():
    with pytest.raises(UnresolvedVariable) as info:
        render(parse_template("${aws:username}"), lookup({}))
    assert str(info.value.variable) == "${aws:username}"


def test_variable_values_never_act_as_wildcards():
    # a user called "*" must not match every prefix
    context = {"s3:prefix": "home/bob/", "aws:username": "*"}
    assert not condition_matches("StringLike", "s3:prefix", "home/${aws:username}/", context)
    context = {"s3:prefix": "home/*/", "aws:username": "*"}
    assert condition_matches("StringLike", "s3:prefix", "home/${aws:username}/", context)


def test_star_variable_matches_a_literal_star_only():
    assert condition_matches("StringLike", "s3:prefix", "a${*}", {"s3:prefix": "a*"})
    assert not condition_matches("StringLike", "s3:prefix", "a${*}", {"s3:prefix": "ab"})
    assert condition_matches("StringEquals", "s3:prefix", "a${?}", {"s3:prefix": "a?"})


def test_variable_names_are_case_insensitive():
    context = {"aws:PrincipalTag/x509Subject/CN": "alice", "s3:prefix": "alice"}
    assert condition_matches("StringEquals", "s3:prefix", "${AWS:principaltag/X509SUBJECT/cn}",
                             context)


def test_multivalued_keys_cannot_be_variables():
    context = {"aws:TagKeys": ["a", "b"], "s3:prefix": "a"}
    with pytest.raises(UnresolvedVariable):
        condition_matches("StringEquals", "s3:prefix", "${aws:TagKeys}", context)
    assert condition_matches("StringEquals", "s3:prefix", "${aws:TagKeys, 'a'}", context)


def test_unresolved_variable_makes_the_whole_statement_not_apply():
    doc = policy({"Effect": "Allow", "Action": "s3:*",
                  "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b/${aws:username}/*"]})
    decision = evaluate([doc], RequestContext(action="s3:GetObject",
                                              resource="arn:aws:s3:::b/x"))
    assert decision.effect == "ImplicitDeny"
    assert "${aws:username} has no value" in decision.reason


def test_unresolved_variable_in_a_deny_means_the_deny_does_not_apply():
    doc = policy({"Effect": "Allow", "Action": "*", "Resource": "*"},
                 {"Effect": "Deny", "Action": "*", "Resource": "*",
                  "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "${aws:username}"}}})
    ctx = RequestContext(action="s3:GetObject", context={"aws:PrincipalTag/team": "x"})
    assert evaluate([doc], ctx).allowed


def test_ifexists_on_a_missing_key_does_not_resolve_its_values():
    assert condition_matches("StringEqualsIfExists", "aws:PrincipalTag/team",
                             "${aws:username}", {})


def test_variables_apply_only_to_2012_10_17_documents():
    statement = {"Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::b/${aws:username}/*"}
    ctx = RequestContext(action="s3:GetObject", resource="arn:aws:s3:::b/alice/x",
                         context={"aws:username": "alice"})
    assert evaluate([policy(statement)], ctx).allowed
    assert not evaluate([policy(statement, version="2008-10-17")], ctx).allowed
    literal = RequestContext(action="s3:GetObject", resource="arn:aws:s3:::b/${aws:username}/x")
    assert evaluate([policy(statement, version=None)], literal).allowed


def test_variables_are_not_substituted_in_numeric_conditions():
    assert not condition_matches("NumericEquals", "s3:max-keys", "${aws:limit}",
                                 {"s3:max-keys": "5", "aws:limit": "5"})
