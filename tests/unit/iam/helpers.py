"""Small builders shared by the policy tests."""

from __future__ import annotations

import json
from typing import Any

from roleport.iam.policy import (
    Condition,
    PolicyDocument,
    RequestContext,
    parse_operator,
    parse_policy,
)
from roleport.iam.policy.conditions import evaluate_condition


def condition_matches(operator: str, key: str, values: Any, context: dict[str, Any],
                      *, variables: bool = True) -> bool:
    """Evaluate ``{operator: {key: values}}`` against a request carrying ``context``."""
    op = parse_operator(operator)
    assert op is not None, operator
    values = values if isinstance(values, list) else [values]
    cond = Condition(op, key, tuple(values))
    ctx = RequestContext(action="s3:GetObject", context=context)
    return evaluate_condition(cond, ctx, variables=variables).matched


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17",
           kind: str = "identity") -> PolicyDocument:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        doc = {"Version": version, **doc}
    return parse_policy(json.dumps(doc), kind=kind)  # type: ignore[arg-type]
