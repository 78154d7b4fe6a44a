"""Wildcard matching as IAM does it: ``*`` is any run of characters, ``?`` one character.

Three flavours, one implementation:

* :func:`glob_match`: the whole string at once. Used for ``Action`` (with
  ``ignore_case``), ``Resource`` (IAM: a ``*`` "can expand to match beyond the colon
  boundaries") and ``StringLike``;
* :func:`arn_match`: the six colon-separated ARN parts checked one by one, where a
  wildcard in the first five never crosses a colon and the last part (the resource,
  which may itself hold colons) is free. Used by the ``Arn*`` condition operators;
* both accept a plain policy string or rendered :class:`~.variables.Chunk` s, whose
  literal chunks (variable values, ``${*}``) never act as wildcards.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .variables import Chunk

Pattern = str | tuple[Chunk, ...]

_ARN_FIXED_PARTS = 5  # colons before the free-form resource part


def _chunks(pattern: Pattern) -> tuple[Chunk, ...]:
    return (Chunk(pattern),) if isinstance(pattern, str) else pattern


def has_wildcard(pattern: Pattern) -> bool:
    return any(not c.literal and ("*" in c.text or "?" in c.text) for c in _chunks(pattern))


def plain_text(pattern: Pattern) -> str:
    """The pattern read as plain text (``*`` and ``?`` as themselves)."""
    return "".join(c.text for c in _chunks(pattern))


@lru_cache(maxsize=8192)
def _glob_regex(chunks: tuple[Chunk, ...], ignore_case: bool, arn: bool) -> re.Pattern[str]:
    out: list[str] = []
    colons = 0
    for chunk in chunks:
        for ch in chunk.text:
            free = not arn or colons >= _ARN_FIXED_PARTS
            if ch == ":":
                colons += 1
                out.append(":")
            elif chunk.literal:
                out.append(re.escape(ch))
            elif ch == "*":
                out.append(".*" if free else "[^:]*")
            elif ch == "?":
                out.append("." if free else "[^:]")
            else:
                out.append(re.escape(ch))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(out), flags)


def glob_match(pattern: Pattern, value: str, *, ignore_case: bool = False) -> bool:
    chunks = _chunks(pattern)
    if not has_wildcard(chunks):
        text = plain_text(chunks)
        return text.lower() == value.lower() if ignore_case else text == value
    return _glob_regex(chunks, ignore_case, False).fullmatch(value) is not None


def arn_match(pattern: Pattern, value: str) -> bool:
    """Case-sensitive, part by part. A lone ``*`` matches any value."""
    chunks = _chunks(pattern)
    text = plain_text(chunks)
    if chunks == (Chunk("*"),):
        return True
    if text.count(":") < _ARN_FIXED_PARTS or value.count(":") < _ARN_FIXED_PARTS:
        return False
    if not has_wildcard(chunks):
        return text == value
    return _glob_regex(chunks, False, True).fullmatch(value) is not None
