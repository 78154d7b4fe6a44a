"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

A policy string is parsed once into a :data:`Template` (text and variables), then
rendered per request into :class:`Chunk` s. A chunk remembers whether its text came
from the policy itself (``literal=False``: ``*`` and ``?`` are wildcards for the
operators that take them) or from a substitution (``literal=True``: a user named
``*`` must not match everyone, and ``${*}`` is how a policy spells a plain ``*``).

Rules, from the IAM user guide (policy elements: variables and tags):

* variables exist only in ``"Version": "2012-10-17"`` documents; in older ones
  ``${...}`` is ordinary text (``variables=False``);
* names are looked up case-insensitively in the request context; only single-valued
  keys can be variables, so a key with several values does not resolve;
* ``${name, 'default'}`` uses the default when the key is absent;
* ``${*}``, ``${?}`` and ``${$}`` stand for the plain characters;
* a variable that cannot be resolved makes the statement not apply
  (:class:`UnresolvedVariable`, turned into a "does not apply" reason by evaluation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple


class Chunk(NamedTuple):
    """Rendered text; ``literal`` text has no wildcards even if it contains ``*``."""

    text: str
    literal: bool = False


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None = None

    def __str__(self) -> str:
        if self.default is None:
            return "${%s}" % self.name
        return "${%s, '%s'}" % (self.name, self.default)


Template = tuple[Chunk | Variable, ...]
Lookup = Callable[[str], "str | None"]


class UnresolvedVariable(Exception):
    """A variable has no value in the request context and no default."""

    def __init__(self, variable: Variable) -> None:
        super().__init__(str(variable))
        self.variable = variable


_SPECIAL = {"*", "?", "$"}
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
# name, then optionally ", 'default'"; a name never holds a comma or a quote
_INNER = re.compile(r"^\s*([^,'\s][^,']*?)\s*(?:,\s*'([^']*)'\s*)?$")


@lru_cache(maxsize=8192)
def parse_template(text: str, *, variables: bool = True) -> Template:
    """Split ``text`` into plain chunks and variables (none when ``variables`` is off)."""
    if not variables or "${" not in text:
        return (Chunk(text),)
    parts: list[Chunk | Variable] = []
    pos = 0
    for match in _REFERENCE.finditer(text):
        inner = match.group(1)
        if inner in _SPECIAL:
            piece: Chunk | Variable = Chunk(inner, literal=True)
        else:
            parsed = _INNER.match(inner)
            if parsed is None:  # "${}" or "${a, b}": not a variable, keep the text
                continue
            piece = Variable(parsed.group(1), parsed.group(2))
        if match.start() > pos:
            parts.append(Chunk(text[pos:match.start()]))
        parts.append(piece)
        pos = match.end()
    if pos < len(text):
        parts.append(Chunk(text[pos:]))
    return tuple(parts) or (Chunk(""),)


def render(template: Template, lookup: Lookup) -> tuple[Chunk, ...]:
    """Substitute the variables; adjacent chunks of the same kind are merged."""
    out: list[Chunk] = []
    for part in template:
        if isinstance(part, Variable):
            value = lookup(part.name)
            if value is None:
                value = part.default
            if value is None:
                raise UnresolvedVariable(part)
            part = Chunk(value, literal=True)
        if out and out[-1].literal == part.literal:
            out[-1] = Chunk(out[-1].text + part.text, part.literal)
        else:
            out.append(part)
    return tuple(out)


def render_text(text: str, lookup: Lookup, *, variables: bool = True) -> str:
    """The plain string a policy value stands for (for exact comparisons)."""
    return "".join(chunk.text for chunk in render(parse_template(text, variables=variables),
                                                   lookup))


def variables_in(text: str, *, variables: bool = True) -> tuple[Variable, ...]:
    return tuple(p for p in parse_template(text, variables=variables)
                 if isinstance(p, Variable))


def no_variables(name: str) -> str | None:
    """A lookup for callers that have no request context."""
    return None
