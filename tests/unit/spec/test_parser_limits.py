"""What the request parser refuses, whatever the operation: integers out of their shape's
range, bodies that are not JSON objects, runaway form indices and field counts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.errors import RoleportError, ValidationError
from roleport.spec.models import load_service
from roleport.spec.parser import (
    MAX_FORM_FIELDS,
    SerializationError,
    parse_form,
    parse_query,
    parse_rest_json,
)

RA = load_service("rolesanywhere").model
IAM = load_service("iam").model
CREATE_PROFILE = RA.operation_model("CreateProfile")
LIST_ANCHORS = RA.operation_model("ListTrustAnchors")
CREATE_ROLE = IAM.operation_model("CreateRole")


def body_params(operation, body: bytes) -> dict:
    return parse_rest_json(operation, {}, {}, {}, body)


@pytest.mark.parametrize("value", ["2147483648", "-2147483649", "9223372000000000000",
                                   "123000000000000000000000", "1e300"])
def test_an_integer_outside_32_bits_is_a_serialization_exception(value) -> None:
    """Smithy restJson1: RestJsonBodyIntegerUnderflowOverflow."""
    with pytest.raises(SerializationError, match="out of range for a 32-bit integer"):
        body_params(CREATE_PROFILE, b'{"name": "p", "durationSeconds": ' + value.encode() + b"}")


def test_integers_at_the_32_bit_bounds_parse() -> None:
    for value in (2**31 - 1, -(2**31)):
        params = body_params(CREATE_PROFILE, b'{"durationSeconds": %d}' % value)
        assert params["durationSeconds"] == value


@pytest.mark.parametrize("text", ["2147483648", "-2147483649", "9" * 100])
def test_an_integer_in_the_query_string_outside_its_range_is_refused(text) -> None:
    with pytest.raises(SerializationError, match="out of range"):
        parse_rest_json(LIST_ANCHORS, {}, {"pageSize": [text]}, {}, b"")


@pytest.mark.parametrize("text", ["\u00b2", "\u0661", "1_000", " 5", "0x10", "9" * 5000])
def test_query_integers_are_ascii_decimal_only(text) -> None:
    params = parse_rest_json(LIST_ANCHORS, {}, {"pageSize": [text]}, {}, b"")
    assert not isinstance(params["pageSize"], int)  # left for the validator's type error


@pytest.mark.parametrize("body", [b"null", b"10", b'"x"', b'[{"name": "p"}]', b"true"])
def test_a_body_that_is_not_a_json_object_is_a_serialization_exception(body) -> None:
    """Smithy restJson1: RestJsonTechnicallyValidJsonBody."""
    with pytest.raises(SerializationError, match="must be a JSON object"):
        body_params(CREATE_PROFILE, body)


def test_an_empty_body_has_no_members() -> None:
    assert body_params(CREATE_PROFILE, b"") == {}


def test_json_timestamps_beyond_datetime_are_left_for_the_validator() -> None:
    from roleport.spec.parser import _parse_timestamp, is_unconverted

    for value in (1e300, -1e300, "9" * 400, 10**20):
        assert is_unconverted(_parse_timestamp(value))


# -- query protocol ------------------------------------------------------------------------


def role_form(**extra: str) -> dict[str, list[str]]:
    return {"Action": ["CreateRole"], "Version": ["2010-05-08"], "RoleName": ["r"],
            "AssumeRolePolicyDocument": ["{}"], **{k: [v] for k, v in extra.items()}}


@pytest.mark.parametrize("index", ["\u00b2", "\u0661", "x1"])
def test_a_list_index_that_is_not_an_ascii_number_is_not_an_entry(index) -> None:
    params = parse_query(CREATE_ROLE, role_form(**{f"Tags.member.{index}.Key": "k"}))
    assert "Tags" not in params


@pytest.mark.parametrize("index", ["9" * 5000, "1234567"])
def test_a_list_index_of_too_many_digits_is_a_validation_error(index) -> None:
    with pytest.raises(ValidationError, match="list index of .* digits; at most 6"):
        parse_query(CREATE_ROLE, role_form(**{f"Tags.member.{index}.Key": "k"}))


def test_list_indices_parse_in_order() -> None:
    params = parse_query(CREATE_ROLE, role_form(**{"Tags.member.2.Key": "b",
                                                   "Tags.member.10.Key": "c",
                                                   "Tags.member.1.Key": "a"}))
    assert [t["Key"] for t in params["Tags"]] == ["a", "b", "c"]


def test_a_form_body_that_is_not_utf8_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_form(b"Action=ListRoles&\xff", {})
    assert caught.value.message == "The request body is not valid UTF-8."
    assert "codec" in (caught.value.detail or "")


def test_form_fields_are_bounded() -> None:
    fields = "&".join(f"a{i}=1" for i in range(MAX_FORM_FIELDS))
    assert len(parse_form(fields.encode(), {})) == MAX_FORM_FIELDS
    with pytest.raises(ValidationError, match=f"more than {MAX_FORM_FIELDS} form fields"):
        parse_form((fields + "&b=1").encode(), {})


def test_form_field_limit_is_above_the_largest_query_input() -> None:
    """Count the leaves of each query operation's input at the model's list maxima."""
    def leaves(shape, depth=0) -> int:
        if depth > 8:
            return 1
        t = shape.type_name
        if t == "structure":
            return sum(leaves(m, depth + 1) for m in shape.members.values())
        if t in ("list", "map"):
            most = shape.metadata.get("max", 50)
            inner = shape.member if t == "list" else shape.value
            return most * (leaves(inner, depth + 1) + (t == "map"))
        return 1
    for name in ("iam", "sts"):
        model = load_service(name).model
        for op in ("CreateRole", "TagRole", "AssumeRole", "UpdateAssumeRolePolicy"):
            if op in model.operation_names:
                shape = model.operation_model(op).input_shape
                assert leaves(shape) + 2 <= MAX_FORM_FIELDS, (name, op)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=20))
def test_any_form_parses_or_is_a_client_error(form) -> None:
    fields = {"Action": ["CreateRole"], **{k: [v] for k, v in form.items()}}
    try:
        parse_query(CREATE_ROLE, fields)
    except RoleportError as exc:
        assert exc.status == 400
