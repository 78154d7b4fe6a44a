"""Decode a JSON request body within explicit limits.

Every JSON body a client sends (rest-json control plane, ``POST /sessions`` before its
signature is checked) is decoded here and nowhere else. A body outside the limits, or not
JSON at all, is the client's mistake: :class:`SerializationError` (400
``SerializationException``, the code Smithy's restJson1 protocol tests require for a
malformed body), with a message in our words. The decoder's own text (``Expecting value:
line 1 column 1 (char 0)``) goes to ``detail``, which the server logs and never sends.

The limits (docs/security.md, "Parsing client bytes") sit well above anything the served
models allow (a test checks each against the models) and well below what would cost the
server more than reading the body:

======================  =====================================================
``MAX_DEPTH``           nesting of objects and arrays (the deepest input shape
                        of the served models needs 3)
``MAX_ENTRIES``         members of one object, elements of one array
``MAX_CONTAINERS``      objects and arrays in one body (what the check below
                        costs grows with it, about a microsecond each)
``MAX_STRING_CHARS``    characters of one string or member name (the largest
                        model value, ``crlData``, is 400,000 base64 characters)
``MAX_NUMBER_CHARS``    characters of one number literal (an int64 has 20)
======================  =====================================================

Also refused: text that is not UTF-8 (JSON is UTF-8 on the wire; Python's own decoder would
guess UTF-16 or UTF-32), ``NaN`` and ``Infinity`` (not JSON), numbers too large for a double,
and strings holding a lone UTF-16 surrogate (``"\\ud800"``: no UTF-8 spelling, so storage,
logs and responses could not encode it).
"""

from __future__ import annotations

import json
import math
from typing import Any

from roleport.errors import ValidationError

__all__ = [
    "MAX_CONTAINERS",
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_NUMBER_CHARS",
    "MAX_STRING_CHARS",
    "SerializationError",
    "load_json_document",
]

MAX_DEPTH = 32
MAX_ENTRIES = 10_000
MAX_CONTAINERS = 20_000
MAX_STRING_CHARS = 512 * 1024
MAX_NUMBER_CHARS = 100

NOT_JSON = "The request body is not valid JSON."


class SerializationError(ValidationError):
    """The body is not what the protocol says (bad JSON, a list where an object goes)."""

    code = "SerializationException"


class _Refused(Exception):
    """Raised from inside the decoder's hooks; becomes a SerializationError."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _number_literal(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"The request body holds a number literal of {len(text)} characters; "
                       f"the limit is {MAX_NUMBER_CHARS}.")
    return text


def _parse_int(text: str) -> int:
    return int(_number_literal(text))


#: bytes -> b"0" for a digit, b"." for anything else: a number literal longer than the limit
#: is a run of digits longer than the limit, found with a substring search
_DIGIT_RUNS = bytes(ord("0") if 0x30 <= b <= 0x39 else ord(".") for b in range(256))
_LONG_RUN = b"0" * (MAX_NUMBER_CHARS + 1)


def _parse_float(text: str) -> float:
    value = float(_number_literal(text))
    if not math.isfinite(value):
        raise _Refused(f"The request body holds the number {text}, too large for a double.")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused(f"The request body holds {name}, which is not a JSON value.")


#: integers straight from the C scanner (a Python hook per integer triples decoding time)
_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_parse_constant)
#: the same, checking each integer's length: for bodies holding a long run of digits
_CHECKING_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float,
                                     parse_constant=_parse_constant)


def _has_long_digit_run(body: bytes) -> bool:
    return _LONG_RUN in body.translate(_DIGIT_RUNS)


def load_json_document(body: bytes) -> Any:
    """The JSON value of ``body`` (``None`` for an empty body); raises SerializationError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SerializationError("The request body is not valid UTF-8.",
                                 detail=str(exc)) from None
    if not text.strip():
        return None
    try:
        decoder = _CHECKING_DECODER if _has_long_digit_run(body) else _DECODER
        document = decoder.decode(text)
    except _Refused as exc:
        raise SerializationError(exc.message) from None
    except RecursionError:
        # the decoder's own recursion guard trips at hundreds of levels, far past MAX_DEPTH
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError, and int()'s own digit limit
        raise SerializationError(NOT_JSON, detail=str(exc)) from None
    _check_limits(document)
    return document


def _too_deep() -> SerializationError:
    return SerializationError(f"The request body nests JSON deeper than {MAX_DEPTH} levels.",
                              detail=f"JSON nesting deeper than {MAX_DEPTH}")


def _check_strings(texts: list[str]) -> None:
    if not texts:
        return
    longest = max(map(len, texts))
    if longest > MAX_STRING_CHARS:
        raise SerializationError(f"The request body holds a string of {longest} characters; "
                                 f"the limit is {MAX_STRING_CHARS}.",
                                 detail=f"JSON string of {longest} characters")
    if all(map(str.isascii, texts)):
        return
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SerializationError("The request body holds a string that is not valid "
                                     "Unicode (an unpaired surrogate escape).",
                                     detail=str(exc)) from None


_CONTAINERS = (dict, list)


def _check_limits(document: Any) -> None:
    """Depth, entries per container and string length of a decoded document.

    Iterative (a document just inside the decoder's own recursion guard must not exhaust
    this walk's stack), and per container rather than per value where it can: the types of
    an array's elements are collected at C speed, so an array of numbers costs one step.
    """
    if isinstance(document, str):
        _check_strings([document])
    if not isinstance(document, _CONTAINERS):
        return
    pending: list[tuple[Any, int]] = [(document, 1)]
    seen = 0
    while pending:
        container, depth = pending.pop()
        seen += 1
        if seen > MAX_CONTAINERS:
            raise SerializationError(f"The request body holds more than {MAX_CONTAINERS} JSON "
                                     f"objects and arrays.",
                                     detail=f"more than {MAX_CONTAINERS} JSON containers")
        if depth > MAX_DEPTH:
            raise _too_deep()
        if len(container) > MAX_ENTRIES:
            kind = "an object of" if isinstance(container, dict) else "an array of"
            raise SerializationError(f"The request body holds {kind} {len(container)} entries; "
                                     f"the limit is {MAX_ENTRIES}.",
                                     detail=f"JSON container of {len(container)} entries")
        if isinstance(container, dict):
            _check_strings(list(container))
            items = list(container.values())
        else:
            items = container
        kinds = set(map(type, items))
        if str in kinds:
            _check_strings(items if len(kinds) == 1 else
                           [item for item in items if type(item) is str])
        if dict in kinds or list in kinds:
            pending.extend((item, depth + 1) for item in items
                           if type(item) is dict or type(item) is list)
