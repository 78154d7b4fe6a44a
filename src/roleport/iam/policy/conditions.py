"""The Condition element: operators, and how one ``operator: {key: values}`` entry
is evaluated against a request.

Semantics (IAM user guide: condition operators, single- vs multivalued context keys,
condition evaluation logic), all in :func:`evaluate_condition`:

* several policy values for one key are OR'ed; a negated operator (``StringNotEquals``,
  ``NotIpAddress``, ``ArnNotLike``...) is the NOT of its positive twin, so its values
  are NOR'ed and it matches when the key is missing;
* a missing key (absent, or an empty list) makes a positive operator false and a
  negated one true, except: ``...IfExists`` is true, ``ForAllValues:`` is true,
  ``ForAnyValue:`` is false, and ``Null`` tests exactly that (``"true"``: absent,
  ``"false"``: present; a set qualifier on ``Null`` changes nothing);
* ``ForAllValues:`` needs every request value to satisfy the operator,
  ``ForAnyValue:`` at least one; without a qualifier a multivalued key matches when any
  request value matches any policy value (and the negation of that);
* key names are case-insensitive (the request context takes care of that);
* policy variables are substituted in the values of String and Arn operators only; an
  unresolved one raises :class:`~.variables.UnresolvedVariable`;
* a value that cannot be read as its type (a number, a date, an address) never
  matches, so the negated operator matches it.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal, Protocol

from .patterns import arn_match, glob_match, plain_text
from .variables import Chunk, parse_template, render

SetQualifier = Literal["ForAnyValue", "ForAllValues"]
Rendered = tuple[Chunk, ...]
Comparator = Callable[[Rendered, str], bool]


# -- value readers (None: not a value of that type) --------------------------------

@lru_cache(maxsize=4096)
def parse_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


_EPOCH = re.compile(r"-?\d+(\.\d+)?")


@lru_cache(maxsize=4096)
def parse_date(text: str) -> datetime | None:
    """ISO 8601 (date, date-time, with or without zone: UTC assumed) or epoch seconds."""
    text = text.strip()
    try:
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text.upper())
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_interface(text.strip()).ip
    except ValueError:
        return None


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


# -- comparators: one policy value against one request value -------------------------

def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Comparator:
    def compare(policy: Rendered, value: str) -> bool:
        want, have = parse_number(plain_text(policy)), parse_number(value)
        return want is not None and have is not None and test(have, want)
    return compare


def _date(test: Callable[[datetime, datetime], bool]) -> Comparator:
    def compare(policy: Rendered, value: str) -> bool:
        want, have = parse_date(plain_text(policy)), parse_date(value)
        return want is not None and have is not None and test(have, want)
    return compare


def _ip(policy: Rendered, value: str) -> bool:
    network, address = _network(plain_text(policy)), _address(value)
    return (network is not None and address is not None
            and network.version == address.version and address in network)


_POSITIVE: dict[str, Comparator] = {
    "StringEquals": lambda p, v: plain_text(p) == v,
    "StringEqualsIgnoreCase": lambda p, v: plain_text(p).lower() == v.lower(),
    "StringLike": lambda p, v: glob_match(p, v),
    "NumericEquals": _numeric(lambda have, want: have == want),
    "NumericLessThan": _numeric(lambda have, want: have < want),
    "NumericLessThanEquals": _numeric(lambda have, want: have <= want),
    "NumericGreaterThan": _numeric(lambda have, want: have > want),
    "NumericGreaterThanEquals": _numeric(lambda have, want: have >= want),
    "DateEquals": _date(lambda have, want: have == want),
    "DateLessThan": _date(lambda have, want: have < want),
    "DateLessThanEquals": _date(lambda have, want: have <= want),
    "DateGreaterThan": _date(lambda have, want: have > want),
    "DateGreaterThanEquals": _date(lambda have, want: have >= want),
    "Bool": lambda p, v: plain_text(p).lower() == v.strip().lower(),
    "BinaryEquals": lambda p, v: _binary(plain_text(p)) == _binary(v),
    "IpAddress": _ip,
    "ArnEquals": arn_match,
    "ArnLike": arn_match,
}

#: negated operator -> the positive operator it is the NOT of
NEGATIONS: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}

#: every base operator name IAM knows (without qualifier or IfExists)
OPERATORS: frozenset[str] = frozenset(_POSITIVE) | frozenset(NEGATIONS) | {"Null"}

_TAKES_VARIABLES = ("String", "Arn")


@dataclass(frozen=True)
class Operator:
    """A condition operator as written, e.g. ``ForAnyValue:StringLikeIfExists``."""

    name: str
    base: str
    qualifier: SetQualifier | None = None
    if_exists: bool = False

    @property
    def negated(self) -> bool:
        return self.base in NEGATIONS

    @property
    def is_date(self) -> bool:
        return self.base.startswith("Date")


def parse_operator(name: str) -> Operator | None:
    """The operator ``name`` spells, or None when IAM does not know it."""
    rest, qualifier = name, None
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if rest.startswith(prefix):
            rest, qualifier = rest[len(prefix):], prefix[:-1]
            break
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    if if_exists:
        rest = rest[: -len("IfExists")]
    if rest not in OPERATORS or (rest == "Null" and if_exists):
        return None
    return Operator(name, rest, qualifier, if_exists)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Condition:
    """One key under one operator; ``values`` are strings as the policy spells them."""

    operator: Operator
    key: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.operator.name} {self.key} {_show(self.values)}"


class ContextLookup(Protocol):
    """What a condition needs from a request (see ``evaluation.RequestContext``)."""

    def values(self, key: str) -> tuple[str, ...] | None: ...

    def variable(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class ConditionOutcome:
    condition: Condition
    matched: bool
    explanation: str


def _show(values: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return f"[{shown}{more}]"


def evaluate_condition(condition: Condition, request: ContextLookup, *,
                       variables: bool = True) -> ConditionOutcome:
    """Evaluate one condition; raises UnresolvedVariable for an unresolvable value."""
    op = condition.operator
    have = request.values(condition.key)
    missing = not have

    def outcome(matched: bool, why: str) -> ConditionOutcome:
        verdict = "matches" if matched else "does not match"
        return ConditionOutcome(condition, matched, f"{op.name} on {condition.key} {verdict}: "
                                                    f"{why}")

    if op.base == "Null":
        wanted = {v.strip().lower() for v in condition.values}
        matched = ("true" in wanted and missing) or ("false" in wanted and not missing)
        state = "absent" if missing else "present"
        return outcome(matched, f"the key is {state}, policy asks Null {_show(condition.values)}")

    if missing:
        if op.if_exists:
            return outcome(True, "the key is absent and the operator ends in IfExists")
        if op.qualifier == "ForAllValues":
            return outcome(True, "the key is absent, and ForAllValues of nothing is true")
        if op.qualifier == "ForAnyValue":
            return outcome(False, "the key is absent, and ForAnyValue of nothing is false")
        if op.negated:
            return outcome(True, "the key is absent, and a negated operator then matches")
        return outcome(False, "the key is absent from the request")

    assert have is not None
    positive = _POSITIVE[NEGATIONS.get(op.base, op.base)]
    use_vars = variables and op.base.startswith(_TAKES_VARIABLES)
    patterns = [render(parse_template(v, variables=use_vars), request.variable)
                for v in condition.values]

    def hits(value: str) -> bool:
        return any(positive(p, value) for p in patterns)

    if op.qualifier is not None:
        per_value = [hits(v) != op.negated for v in have]
        matched = all(per_value) if op.qualifier == "ForAllValues" else any(per_value)
    else:
        matched = any(hits(v) for v in have) != op.negated
    return outcome(matched, f"request has {_show(have)}, policy has {_show(condition.values)}")
