"""Wildcard matching as IAM does it: ``*`` is any run of characters, ``?`` one character.

Three flavours, one implementation:

* :func:`glob_match`: the whole string at once. Used for ``Action`` (with
  ``ignore_case``), ``Resource`` (IAM: a ``*`` "can expand to match beyond the colon
  boundaries") and ``StringLike``;
* :func:`arn_match`: the six colon-separated ARN parts checked one by one, so a
  wildcard in the first five never crosses a colon, while the last part (the
  resource, which may itself hold colons) is free. Used by the ``Arn*`` operators;
* both accept a plain policy string or rendered :class:`~.variables.Chunk` s, whose
  literal chunks (variable values, ``${*}``) never act as wildcards.

Matching is the two-pointer algorithm with one backtrack point, O(len(pattern) *
len(value)) at worst: no regular expressions, so a pattern such as ``*a*a*a*a*b``
cannot make evaluation take exponential time.
"""

from __future__ import annotations

from functools import lru_cache

from .variables import Chunk

Pattern = str | tuple[Chunk, ...]

STAR = object()  # any run of characters
ANY = object()  # exactly one character
Token = str | object  # a str token is one literal character
_ARN_PARTS = 6


def _chunks(pattern: Pattern) -> tuple[Chunk, ...]:
    return (Chunk(pattern),) if isinstance(pattern, str) else pattern


@lru_cache(maxsize=8192)
def _tokens(chunks: tuple[Chunk, ...], fold: bool) -> tuple[Token, ...]:
    out: list[Token] = []
    for chunk in chunks:
        for ch in chunk.text:
            if not chunk.literal and ch == "*":
                if not out or out[-1] is not STAR:  # "**" is "*"
                    out.append(STAR)
            elif not chunk.literal and ch == "?":
                out.append(ANY)
            else:
                out.extend(ch.lower() if fold else ch)  # lower() may give 2 characters
    return tuple(out)


def _match(tokens: tuple[Token, ...] | list[Token], text: str) -> bool:
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        token = tokens[p] if p < len(tokens) else None
        if token is ANY or (isinstance(token, str) and token == text[t]):
            p, t = p + 1, t + 1
        elif token is STAR:
            star, mark, p = p, t, p + 1
        elif star >= 0:  # let the last star eat one more character
            mark += 1
            p, t = star + 1, mark
        else:
            return False
    while p < len(tokens) and tokens[p] is STAR:
        p += 1
    return p == len(tokens)


def has_wildcard(pattern: Pattern) -> bool:
    return any(not c.literal and ("*" in c.text or "?" in c.text) for c in _chunks(pattern))


def plain_text(pattern: Pattern) -> str:
    """The pattern read as plain text (``*`` and ``?`` as themselves)."""
    return "".join(c.text for c in _chunks(pattern))


def glob_match(pattern: Pattern, value: str, *, ignore_case: bool = False) -> bool:
    if isinstance(pattern, str) and "*" not in pattern and "?" not in pattern:
        # the usual case (an action or ARN written out): a comparison
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    chunks = _chunks(pattern)
    if not has_wildcard(chunks):
        text = plain_text(chunks)
        return text.lower() == value.lower() if ignore_case else text == value
    return _match(_tokens(chunks, ignore_case), value.lower() if ignore_case else value)


def arn_match(pattern: Pattern, value: str) -> bool:
    """Case-sensitive, part by part. A lone ``*`` matches any value."""
    chunks = _chunks(pattern)
    if chunks == (Chunk("*"),):
        return True
    if not has_wildcard(chunks):
        return plain_text(chunks) == value and value.count(":") >= _ARN_PARTS - 1
    parts: list[list[Token]] = [[]]
    for token in _tokens(chunks, False):
        if token == ":" and len(parts) < _ARN_PARTS:
            parts.append([])
        else:
            parts[-1].append(token)
    values = value.split(":", _ARN_PARTS - 1)
    if len(parts) != _ARN_PARTS or len(values) != _ARN_PARTS:
        return False
    return all(_match(p, v) for p, v in zip(parts, values, strict=True))
