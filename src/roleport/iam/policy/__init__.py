"""IAM policy documents and their evaluation (pure Python, no I/O).

Public API::

    parse_policy(text, kind=...)  -> PolicyDocument      document.py
    PolicyDocument, Statement, Condition, Principal       the parsed form (frozen)
    RequestContext                                        what a request asks
    evaluate(policies, ctx)       -> Decision             one policy set, explained
    effect_of(policies, ctx)      -> DecisionEffect       the same decision, unexplained
    evaluate_trust_policy(doc, ctx, actions=...)          a role trust policy
    allowed_by_all(policy_sets, ctx)                      identity AND session policies

Errors (errors.py)::

    MalformedPolicyError  400 MalformedPolicyDocument (IAM's wording in .message)
    └── PolicyTooLargeError  409 LimitExceeded

Modules: ``document`` (dataclasses, parsing, serialising), ``rules`` (IAM's checks and
messages per policy kind), ``principals``, ``conditions`` (operators), ``variables``
(``${...}``), ``patterns`` (wildcards), ``evaluation``.
"""

from .conditions import Condition, Operator, parse_operator
from .document import (
    DEFAULT_MAX_SIZE,
    KINDS,
    VERSION_2008,
    VERSION_2012,
    PolicyDocument,
    PolicyKind,
    Statement,
    parse_policy,
    policy_size,
)
from .errors import MalformedPolicyError, PolicyTooLargeError
from .evaluation import (
    Decision,
    DecisionEffect,
    RequestContext,
    StatementRef,
    StatementTrace,
    allowed_by_all,
    effect_of,
    evaluate,
    evaluate_trust_policy,
    explain_statement,
)
from .principals import Principal, PrincipalType, aws_principal_arns, principal_matches

__all__ = [
    "DEFAULT_MAX_SIZE", "KINDS", "VERSION_2008", "VERSION_2012",
    "Condition", "Decision", "DecisionEffect", "MalformedPolicyError", "Operator", "PolicyDocument",
    "PolicyKind", "PolicyTooLargeError", "Principal", "PrincipalType", "RequestContext",
    "Statement", "StatementRef", "StatementTrace",
    "allowed_by_all", "aws_principal_arns", "effect_of", "evaluate", "evaluate_trust_policy",
    "explain_statement", "parse_operator", "parse_policy", "policy_size", "principal_matches",
]
