"""Policy documents: the dataclasses, :func:`parse_policy` and serialisation.

``parse_policy(text, kind=...)`` checks a document the way IAM does when it is saved,
and raises :class:`~.errors.MalformedPolicyError` with IAM's own wording. ``kind``:

* ``identity``: an IAM user/role/managed policy (``Resource`` required, no
  ``Principal``);
* ``session``: a session policy passed to AssumeRole (same grammar as identity);
* ``trust``: a role trust policy (``Principal`` required, no ``Resource``, only STS
  AssumeRole-family actions);
* ``resource``: a resource-based policy (``Principal`` and ``Resource`` required).

Syntax is checked here; the rest runs in :func:`.rules.check`, in the order IAM
reports problems, so a document with two problems gets the error IAM would give first.
Parsing normalises: a string-or-list becomes a tuple, a single statement object a
one-statement tuple, JSON ``true`` in a condition the string ``"true"``. Serialising
writes the normal form back, so ``parse_policy(doc.dumps(), kind=k) == doc``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from . import rules
from .conditions import Condition, parse_operator
from .errors import MalformedPolicyError, PolicyTooLargeError
from .principals import Principal

PolicyKind = Literal["identity", "trust", "session", "resource"]
Effect = Literal["Allow", "Deny"]

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
VERSIONS = (VERSION_2012, VERSION_2008)
KINDS: tuple[PolicyKind, ...] = ("identity", "trust", "session", "resource")

#: IAM's default quotas, in characters not counting white space, for callers to pass
#: as ``max_size`` (trust policies can be raised to 4096 on request)
DEFAULT_MAX_SIZE: dict[PolicyKind, int] = {
    "identity": 6144, "trust": 2048, "session": 2048, "resource": 20480}
#: the longest text the parse memo keeps: the largest default quota above
MEMO_MAX_CHARS = 20480
QUOTA_NAMES: dict[PolicyKind, str] = {
    "identity": "PolicySize", "trust": "ACLSizePerRole", "session": "PolicySize",
    "resource": "PolicySize"}

_TOP_FIELDS = {"Version", "Id", "Statement"}
_STATEMENT_FIELDS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                     "Resource", "NotResource", "Condition"}


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One statement; built by keyword, fields in the order IAM documents them."""

    sid: str | None = None
    effect: str
    principal: Principal | None = None
    not_principal: Principal | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        for name, value in (("Principal", self.principal), ("NotPrincipal", self.not_principal)):
            if value is not None:
                out[name] = value.to_json()
        for name, items in (("Action", self.action), ("NotAction", self.not_action),
                            ("Resource", self.resource), ("NotResource", self.not_resource)):
            if items is not None:
                out[name] = list(items)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for cond in self.conditions:
                block.setdefault(cond.operator.name, {})[cond.key] = list(cond.values)
            out["Condition"] = block
        return out


@dataclass(frozen=True)
class PolicyDocument:
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]

    @property
    def variables_enabled(self) -> bool:
        """Policy variables exist only in 2012-10-17 documents."""
        return self.version == VERSION_2012

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_json() for s in self.statements]
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)


def policy_size(text: str) -> int:
    """The size IAM counts against its quotas: characters that are not white space."""
    return sum(1 for ch in text if not ch.isspace())


def parse_policy(text: str, *, kind: PolicyKind, max_size: int | None = None,
                 require_current_version: bool = False) -> PolicyDocument:
    """Read and check ``text`` as a policy of ``kind``.

    ``max_size`` enforces a quota (see :data:`DEFAULT_MAX_SIZE`);
    ``require_current_version`` rejects documents that are not 2012-10-17, as IAM does
    for managed policies. Documents are immutable, so a text parsed before is answered
    from a bounded memo (a role's trust policy is read on every CreateSession); failures
    are not remembered, nor texts longer than :data:`MEMO_MAX_CHARS` (a caller could
    otherwise fill the memo's 2,048 entries with megabyte documents).
    """
    if len(text) > MEMO_MAX_CHARS:
        return _parse_policy_memo.__wrapped__(text, kind, max_size, require_current_version)
    return _parse_policy_memo(text, kind, max_size, require_current_version)


@lru_cache(maxsize=2048)
def _parse_policy_memo(text: str, kind: PolicyKind, max_size: int | None,
                       require_current_version: bool) -> PolicyDocument:
    if kind not in KINDS:
        raise ValueError(f"unknown policy kind {kind!r}")
    wording = rules.WORDING[kind]
    if max_size is not None and policy_size(text) > max_size:
        raise PolicyTooLargeError(QUOTA_NAMES[kind], max_size)
    raw = _load(text, wording.invalid_json)
    doc, raw_principals = _read_document(raw, wording)
    statements = rules.check(doc.statements, raw_principals, kind=kind, version=doc.version,
                             require_current_version=require_current_version)
    return replace(doc, statements=statements)


# -- JSON to dataclasses (syntax only; rules.check does the rest) ----------------------

class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # last-one-wins would hide a Condition or a Deny: refuse
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _load(text: str, message: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except (ValueError, RecursionError, TypeError):
        raise MalformedPolicyError(message) from None


def _syntax() -> MalformedPolicyError:
    return MalformedPolicyError(rules.SYNTAX)


def _strings(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise _syntax()
    return tuple(items)


def _condition_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    raise _syntax()


def _conditions(raw: Any) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise _syntax()
    out: list[Condition] = []
    for op_name, block in raw.items():
        operator = parse_operator(op_name)
        if operator is None or not isinstance(block, dict):
            raise _syntax()
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            if not key:
                raise _syntax()
            out.append(Condition(operator, key, tuple(_condition_value(v) for v in values)))
    return tuple(out)


def _read_statement(raw: Any, wording: rules.Wording) -> tuple[Statement, Any, Any]:
    if not isinstance(raw, dict) or not set(raw) <= _STATEMENT_FIELDS:
        raise _syntax()
    for a, b in (("Action", "NotAction"), ("Resource", "NotResource"),
                 ("Principal", "NotPrincipal")):
        if a in raw and b in raw:
            raise _syntax()
    effect = raw.get("Effect")
    if effect is None:
        raise MalformedPolicyError(wording.missing_effect)
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise MalformedPolicyError(wording.invalid_effect.format(effect=effect))
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _syntax()

    def opt(name: str) -> tuple[str, ...] | None:
        return _strings(raw[name]) if name in raw else None

    statement = Statement(
        effect=effect, sid=sid, action=opt("Action"), not_action=opt("NotAction"),
        resource=opt("Resource"), not_resource=opt("NotResource"),
        conditions=_conditions(raw["Condition"]) if "Condition" in raw else ())
    return statement, raw.get("Principal"), raw.get("NotPrincipal")


def _read_document(raw: Any, wording: rules.Wording
                   ) -> tuple[PolicyDocument, list[tuple[Any, Any]]]:
    if not isinstance(raw, dict) or not set(raw) <= _TOP_FIELDS:
        raise _syntax()
    version = raw.get("Version")
    if "Version" in raw and version not in VERSIONS:
        raise MalformedPolicyError(wording.invalid_version)
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _syntax()
    body = raw.get("Statement")
    items = [body] if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise _syntax()
    if not items:
        raise MalformedPolicyError(wording.empty_statement)
    statements, principals = [], []
    for item in items:
        statement, principal, not_principal = _read_statement(item, wording)
        statements.append(statement)
        principals.append((principal, not_principal))
    return PolicyDocument(version, policy_id, tuple(statements)), principals
