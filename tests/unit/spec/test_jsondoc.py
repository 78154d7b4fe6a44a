"""The JSON body decoder: explicit limits, AWS's error code, no library text to the caller.

Each limit is checked twice: a body just inside it decodes, one just past it is a
SerializationException whose message is Roleport's own. The limits are also checked
against the served models, so that no body a model allows can be refused by them.
"""

from __future__ import annotations

import json

import botocore.model
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.spec import jsondoc
from roleport.spec.jsondoc import (
    MAX_CONTAINERS,
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_NUMBER_CHARS,
    MAX_STRING_CHARS,
    SerializationError,
    load_json_document,
)
from roleport.spec.models import load_service

SERVICES = ["rolesanywhere", "rolesanywhere-sessions"]
#: what Python's json module would say; never in a message to the caller
LIBRARY_WORDS = ("Expecting", "line 1 column", "codec", "char 0", "Exceeds the limit",
                 "surrogates not allowed", "maximum recursion")


def refused(body: bytes) -> SerializationError:
    with pytest.raises(SerializationError) as caught:
        load_json_document(body)
    error = caught.value
    assert error.code == "SerializationException" and error.status == 400
    assert not any(word in error.message for word in LIBRARY_WORDS), error.message
    return error


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_up_to_the_limit_decodes_and_one_more_level_is_refused() -> None:
    assert load_json_document(nested(MAX_DEPTH)) is not None
    assert "deeper than 32 levels" in refused(nested(MAX_DEPTH + 1)).message


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_nesting_far_past_the_decoder_recursion_limit_is_refused_not_crashed(depth) -> None:
    assert "deeper than" in refused(nested(depth)).message
    assert "deeper than" in refused(b'{"a":' * depth + b"1" + b"}" * depth).message
    assert "deeper than" in refused(b"[" * depth).message  # never closed


def test_an_integer_of_thousands_of_digits_is_refused_by_its_length() -> None:
    error = refused(b'{"durationSeconds": ' + b"9" * 5000 + b"}")
    assert "number literal of 5000 characters" in error.message
    assert load_json_document(b"[" + b"9" * MAX_NUMBER_CHARS + b"]") == [int("9" * 100)]
    refused(b"[" + b"9" * (MAX_NUMBER_CHARS + 1) + b"]")
    refused(b'["' + b"1" * 200 + b'", ' + b"1." + b"5" * 200 + b"]")


def test_digits_inside_strings_do_not_count_as_numbers() -> None:
    assert load_json_document(b'["' + b"1" * 5000 + b'"]') == ["1" * 5000]


@pytest.mark.parametrize("body", [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"1e999",
                                  b"[-1e400]"])
def test_values_that_are_not_json_numbers_are_refused(body) -> None:
    refused(body)


def test_entries_per_container_are_bounded() -> None:
    at_limit = b"[" + b",".join([b"1"] * MAX_ENTRIES) + b"]"
    assert len(load_json_document(at_limit)) == MAX_ENTRIES
    assert "array of 10001 entries" in refused(
        b"[" + b",".join([b"1"] * (MAX_ENTRIES + 1)) + b"]").message
    members = ",".join(f'"k{i}": 1' for i in range(MAX_ENTRIES + 1))
    assert "object of 10001 entries" in refused(("{" + members + "}").encode()).message


def test_containers_per_body_are_bounded() -> None:
    body = b"[" + b",".join([b"[]"] * ((MAX_CONTAINERS - 3) // 2)) + b"]"
    load_json_document(b'{"a": ' + body + b', "b": ' + body + b"}")
    pairs = b"[" + b",".join([b"[[]]"] * 5001) + b"]"
    assert "more than 20000" in refused(b"[" + pairs + b"," + pairs + b"]").message


def test_strings_and_member_names_are_bounded() -> None:
    text = "a" * MAX_STRING_CHARS
    assert load_json_document(json.dumps([text]).encode()) == [text]
    assert "string of 524289 characters" in refused(json.dumps([text + "a"]).encode()).message
    assert "string of" in refused(json.dumps({text + "a": 1}).encode()).message
    assert "string of" in refused(json.dumps(text + "a").encode()).message


@pytest.mark.parametrize("escape", [r"\ud800", r"\udfff", r"x\udc00y", r"\ud83d"])
def test_a_lone_surrogate_escape_is_refused(escape) -> None:
    refused(('{"roleSessionName": "' + escape + '"}').encode())
    refused(('{"' + escape + '": "x"}').encode())
    refused(('{"m": {"k": ["' + escape + '", "ok"]}}').encode())


def test_a_surrogate_pair_is_one_character_and_decodes() -> None:
    assert load_json_document(rb'["\ud83d\ude00", "caf\u00e9"]') == ["\U0001f600", "café"]


@pytest.mark.parametrize("body", [b"\xff", b'{"a": "\xc3"}', "{}".encode("utf-16"),
                                  "{}".encode("utf-32")])
def test_text_that_is_not_utf8_is_refused(body) -> None:
    error = refused(body)
    assert error.message == "The request body is not valid UTF-8."
    assert error.detail and "codec" in error.detail  # the precise cause, for the log


@pytest.mark.parametrize("body", [b"{[", b'{ "int": 10 }abc', b'abc{ "int": 10 }',
                                  b'{"int": 10 // ten\n}', b"{'int': 10}", b'{"int": 10,}',
                                  b'{"int" :\x0c10}'])
def test_invalid_json_is_a_serialization_exception_in_our_words(body) -> None:
    """Smithy's restJson1 malformed-request cases (RestJsonInvalidJsonBody)."""
    error = refused(body)
    assert error.message == "The request body is not valid JSON."
    assert error.detail  # json's own words go to the log only


@pytest.mark.parametrize("body", [b"", b"  \n", b"\t"])
def test_an_empty_body_is_no_document(body) -> None:
    assert load_json_document(body) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_a_serialization_exception(body) -> None:
    try:
        load_json_document(body)
    except SerializationError as exc:
        assert not any(word in exc.message for word in LIBRARY_WORDS), exc.message


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20)
                     | st.floats(allow_nan=False, allow_infinity=False),
                     lambda children: st.lists(children, max_size=5)
                     | st.dictionaries(st.text(max_size=10), children, max_size=5),
                     max_leaves=40)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_documents_inside_the_limits_decode_as_json_does(value) -> None:
    body = json.dumps(value).encode()
    assert load_json_document(body) == json.loads(body)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=MAX_DEPTH + 1, max_value=3000), st.sampled_from(["[", '{"k":']))
def test_any_nesting_past_the_limit_is_refused(depth, opener) -> None:
    closer = "]" if opener == "[" else "}"
    inner = "1" if opener != "[" else ""
    refused((opener * depth + inner + closer * depth).encode())


# -- the limits against the models -------------------------------------------------------


def _input_shapes():
    for name in SERVICES:
        service = load_service(name)
        for op in service.model.operation_names:
            shape = service.model.operation_model(op).input_shape
            if shape is not None:
                yield shape


def _depth(shape: botocore.model.Shape, seen: tuple[str, ...] = ()) -> int:
    """JSON nesting a value of ``shape`` needs (the body object counts as 1)."""
    if shape.name in seen:
        raise AssertionError(f"recursive shape {shape.name}: the depth limit needs a look")
    seen = (*seen, shape.name)
    if isinstance(shape, botocore.model.StructureShape):
        return 1 + max((_depth(m, seen) for m in shape.members.values()), default=0)
    if isinstance(shape, botocore.model.ListShape):
        return 1 + _depth(shape.member, seen)
    if isinstance(shape, botocore.model.MapShape):
        return 1 + _depth(shape.value, seen)
    return 0


def _shapes(shape: botocore.model.Shape, seen: set[str]):
    if shape.name in seen:
        return
    seen.add(shape.name)
    yield shape
    if isinstance(shape, botocore.model.StructureShape):
        for member in shape.members.values():
            yield from _shapes(member, seen)
    elif isinstance(shape, botocore.model.ListShape):
        yield from _shapes(shape.member, seen)
    elif isinstance(shape, botocore.model.MapShape):
        yield from _shapes(shape.key, seen)
        yield from _shapes(shape.value, seen)


def _all_shapes():
    seen: set[str] = set()
    for shape in _input_shapes():
        yield from _shapes(shape, seen)


def test_depth_limit_is_far_above_the_deepest_input_shape() -> None:
    deepest = max(_depth(shape) for shape in _input_shapes())
    assert deepest == 3  # the module docstring says so
    assert MAX_DEPTH >= 8 * deepest


def test_entry_and_string_limits_are_above_every_model_maximum() -> None:
    for shape in _all_shapes():
        most = shape.metadata.get("max")
        if most is None:
            continue
        if shape.type_name in ("list", "map"):
            assert most <= MAX_ENTRIES, shape.name
        elif shape.type_name == "string":
            assert most <= MAX_STRING_CHARS, shape.name
        elif shape.type_name == "blob":  # base64: 4 characters per 3 bytes
            assert -(-most // 3) * 4 <= MAX_STRING_CHARS, shape.name


def test_module_docstring_names_every_limit() -> None:
    for name in ("MAX_DEPTH", "MAX_ENTRIES", "MAX_CONTAINERS", "MAX_STRING_CHARS",
                 "MAX_NUMBER_CHARS"):
        assert f"``{name}``" in (jsondoc.__doc__ or "")
