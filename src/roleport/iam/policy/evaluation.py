"""Deciding a request against policies, with the reason an administrator can read.

IAM's logic for one set of policies (:func:`evaluate`): a statement applies when its
principal, action, resource and every condition match; an applying ``Deny`` wins
(``ExplicitDeny``), else an applying ``Allow`` allows, else the request is denied by
default (``ImplicitDeny``). A statement also does not apply when a policy variable in
it cannot be resolved.

* :func:`evaluate_trust_policy`: a role trust policy, optionally for several actions
  at once (Roles Anywhere needs ``sts:AssumeRole``, ``sts:TagSession`` and
  ``sts:SetSourceIdentity`` all allowed);
* :func:`allowed_by_all`: the intersection of several policy sets (identity policies
  and session policies): every set must allow, and a deny anywhere wins.

Matching rules: actions case-insensitively with ``*``/``?``; resources
case-sensitively with ``*``/``?`` (a ``*`` may cross colons, as IAM allows); a
statement without ``Resource``/``NotResource`` (trust policies) applies to any
resource; principals as described in :mod:`.principals`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from .conditions import evaluate_condition
from .document import PolicyDocument, Statement
from .patterns import glob_match
from .principals import Principal, PrincipalType, infer_principal_type, principal_matches
from .variables import UnresolvedVariable, parse_template, render

DecisionEffect = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
ContextValue = str | bool | int | float | Sequence[str | bool | int | float]


def _as_text(value: str | bool | int | float) -> str:
    """How IAM sees a scalar: ``True`` is ``"true"``, ``10`` is ``"10"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True, kw_only=True)
class RequestContext:
    """What is being asked: who, which action, on what, with which context keys.

    ``context`` maps condition keys (``aws:SourceArn``, ``aws:PrincipalTag/x509Subject/CN``)
    to a value or a list of values (booleans and numbers are read as IAM writes them,
    ``"true"``, ``"10"``); names are looked up case-insensitively. A key whose value is
    an empty list counts as absent. ``principal`` is an ARN, an account id or a
    service principal (``rolesanywhere.amazonaws.com``); ``principal_type`` is guessed
    from it when not given.
    """

    action: str
    resource: str = "*"
    principal: str | None = None
    principal_type: PrincipalType | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.principal is not None and self.principal_type is None:
            object.__setattr__(self, "principal_type", infer_principal_type(self.principal))

    @cached_property
    def _keys(self) -> dict[str, tuple[str, ...]]:
        """The context by lower-case key, values as text: built when a condition or a
        policy variable first reads it (most trust policies never do)."""
        keys: dict[str, tuple[str, ...]] = {}
        for key, value in self.context.items():
            items = [value] if isinstance(value, str | bool | int | float) else value
            values = tuple(_as_text(v) for v in items)
            keys.setdefault(key.lower(), ())
            keys[key.lower()] += values
        return keys

    def with_action(self, action: str) -> RequestContext:
        """The same request for another action (its context keys are not read again)."""
        twin = object.__new__(RequestContext)
        twin.__dict__.update(self.__dict__)
        object.__setattr__(twin, "action", action)
        return twin

    def values(self, key: str) -> tuple[str, ...] | None:
        """All values of a context key, or None when the request does not carry it."""
        return self._keys.get(key.lower())

    def variable(self, name: str) -> str | None:
        """The value of ``${name}``: only a key with exactly one value resolves."""
        values = self._keys.get(name.lower())
        return values[0] if values is not None and len(values) == 1 else None


@dataclass(frozen=True)
class StatementRef:
    """Where a statement is: set (for :func:`allowed_by_all`), policy, statement."""

    policy_index: int
    statement_index: int
    sid: str | None = None
    policy_set: int | None = None

    def __str__(self) -> str:
        where = f"policy {self.policy_index} statement {self.statement_index}"
        if self.policy_set is not None:
            where = f"policy set {self.policy_set} {where}"
        return f'{where} (Sid "{self.sid}")' if self.sid else where


@dataclass(frozen=True)
class StatementTrace:
    ref: StatementRef
    effect: str
    applies: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    effect: DecisionEffect
    deciding_statement: StatementRef | None
    reason: str
    trace: tuple[StatementTrace, ...] = ()


def _principal_part(s: Statement, ctx: RequestContext) -> str | None:
    """None when the principal matches, else why not."""
    if s.principal is not None and not principal_matches(s.principal, ctx.principal,
                                                         ctx.principal_type):
        return f"principal {ctx.principal or '(none)'} is not in Principal {s.principal}"
    if s.not_principal is not None and principal_matches(s.not_principal, ctx.principal,
                                                         ctx.principal_type):
        return f"principal {ctx.principal} is excluded by NotPrincipal {s.not_principal}"
    return None


def _any_resource(patterns: tuple[str, ...], ctx: RequestContext, variables: bool) -> bool:
    """Raises UnresolvedVariable when any pattern holds one that cannot be resolved."""
    rendered = [render(parse_template(p, variables=variables), ctx.variable) for p in patterns]
    return any(glob_match(r, ctx.resource) for r in rendered)


def explain_statement(s: Statement, ctx: RequestContext, *, variables: bool = True
                      ) -> tuple[bool, str]:
    """Whether ``s`` applies to ``ctx``, and a sentence saying why (not)."""
    why_not = _principal_part(s, ctx)
    if why_not:
        return False, why_not
    if s.action is not None and not any(glob_match(a, ctx.action, ignore_case=True)
                                        for a in s.action):
        return False, f"action {ctx.action} is not in Action {list(s.action)}"
    if s.not_action is not None and any(glob_match(a, ctx.action, ignore_case=True)
                                        for a in s.not_action):
        return False, f"action {ctx.action} is excluded by NotAction {list(s.not_action)}"
    try:
        if s.resource is not None and not _any_resource(s.resource, ctx, variables):
            return False, f"resource {ctx.resource} is not in Resource {list(s.resource)}"
        if s.not_resource is not None and _any_resource(s.not_resource, ctx, variables):
            return False, (f"resource {ctx.resource} is excluded by NotResource "
                           f"{list(s.not_resource)}")
        for condition in s.conditions:
            outcome = evaluate_condition(condition, ctx, variables=variables)
            if not outcome.matched:
                return False, f"condition {outcome.explanation}"
    except UnresolvedVariable as exc:
        return False, (f"policy variable {exc.variable} has no value in the request, so the "
                       f"statement does not apply")
    what = "principal, action, resource"
    return True, f"{what} and all {len(s.conditions)} conditions match" if s.conditions \
        else f"{what} match and it has no conditions"


def _trace(policies: Sequence[PolicyDocument], ctx: RequestContext, policy_set: int | None
           ) -> list[StatementTrace]:
    out = []
    for p_index, policy in enumerate(policies):
        for s_index, statement in enumerate(policy.statements):
            applies, reason = explain_statement(statement, ctx,
                                                variables=policy.variables_enabled)
            ref = StatementRef(p_index, s_index, statement.sid, policy_set)
            out.append(StatementTrace(ref, statement.effect, applies, reason))
    return out


def _request(ctx: RequestContext) -> str:
    who = f" requested by {ctx.principal}" if ctx.principal else ""
    return f"{ctx.action} on {ctx.resource}{who}"


def _decide(traces: list[StatementTrace], ctx: RequestContext, scope: str) -> Decision:
    trace = tuple(traces)
    deny = next((t for t in traces if t.applies and t.effect == "Deny"), None)
    if deny:
        why = f"Explicitly denied {_request(ctx)}: {deny.ref} denies it ({deny.reason})."
        return Decision(False, "ExplicitDeny", deny.ref, why, trace)
    allow = next((t for t in traces if t.applies and t.effect == "Allow"), None)
    if allow:
        why = f"Allowed {_request(ctx)}: {allow.ref} allows it ({allow.reason})."
        return Decision(True, "Allow", allow.ref, why, trace)
    misses = [f"{t.ref}: {t.reason}" for t in traces if t.effect == "Allow"]
    detail = "; ".join(misses) if misses else f"{scope} has no Allow statement"
    return Decision(False, "ImplicitDeny", None,
                    f"Implicitly denied {_request(ctx)}: no statement in {scope} allows it; "
                    f"{detail}.", trace)


def evaluate(policies: Sequence[PolicyDocument], ctx: RequestContext) -> Decision:
    """Decide ``ctx`` against one set of policies (explicit deny wins, default deny)."""
    return _decide(_trace(policies, ctx, None), ctx, "the policies")


def effect_of(policies: Sequence[PolicyDocument], ctx: RequestContext) -> DecisionEffect:
    """The effect :func:`evaluate` decides, without building its explanation: the path
    for every request, with :func:`evaluate` left for when someone reads the reason."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if explain_statement(statement, ctx, variables=policy.variables_enabled)[0]:
                if statement.effect == "Deny":
                    return "ExplicitDeny"
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def evaluate_trust_policy(doc: PolicyDocument, ctx: RequestContext, *,
                          actions: Sequence[str] | None = None) -> Decision:
    """Decide a role trust policy; with ``actions``, every one of them must be allowed.

    Returns the first denial, or the decision for the first action when all are allowed.
    """
    decisions = [evaluate([doc], ctx.with_action(a)) for a in actions or [ctx.action]]
    return next((d for d in decisions if not d.allowed), decisions[0])


def allowed_by_all(policy_sets: Sequence[Sequence[PolicyDocument]],
                   ctx: RequestContext) -> Decision:
    """The intersection of policy sets: each non-empty set must allow, any deny wins.

    Empty sets are skipped (no session policy means no restriction); with no policy at
    all the request is denied by default. Statement references carry the set index.
    """
    traces = [_trace(policies, ctx, i) for i, policies in enumerate(policy_sets)]
    every = [t for ts in traces for t in ts]
    deny = next((t for t in every if t.applies and t.effect == "Deny"), None)
    if deny or not every:
        return _decide(every, ctx, "the policies")
    first_allow: Decision | None = None
    for index, (policies, ts) in enumerate(zip(policy_sets, traces, strict=True)):
        if not policies:
            continue
        decision = _decide(ts, ctx, f"policy set {index}")
        if not decision.allowed:
            return replace(decision, trace=tuple(every))
        first_allow = first_allow or decision
    assert first_allow is not None
    return replace(first_allow, trace=tuple(every))


__all__ = ["Decision", "DecisionEffect", "Principal", "RequestContext", "StatementRef",
           "StatementTrace", "allowed_by_all", "effect_of", "evaluate",
           "evaluate_trust_policy", "explain_statement"]
