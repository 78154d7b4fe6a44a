"""Validation messages in AWS's wording, straight from the model's constraints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roleport.errors import ValidationError
from roleport.spec.models import load_service
from roleport.spec.validator import validate, validation_messages

RA = load_service("rolesanywhere").model


def shape(op):  # noqa: ANN001, ANN201
    return RA.operation_model(op).input_shape


def test_required_members_are_reported_as_null():
    assert validation_messages(shape("CreateProfile"), {}) == [
        "Value null at 'name' failed to satisfy constraint: Member must not be null",
        "Value null at 'roleArns' failed to satisfy constraint: Member must not be null",
    ]


def test_several_errors_in_one_message():
    with pytest.raises(ValidationError) as exc:
        validate(shape("CreateProfile"), {"name": "x" * 256, "roleArns": [],
                                          "durationSeconds": 44000})
    assert exc.value.message == (
        "2 validation errors detected: Value '" + "x" * 200 + "...' at 'name' failed to "
        "satisfy constraint: Member must have length less than or equal to 255; Value "
        "'44000' at 'durationSeconds' failed to satisfy constraint: Member must have value "
        "less than or equal to 43200")


def test_nested_list_paths_and_sensitive_values():
    msgs = validation_messages(shape("CreateProfile"), {
        "name": "p", "roleArns": ["arn:aws:s3:::b"], "tags": [{"key": "k", "value": "bad!"}]})
    assert "Value 'arn:aws:s3:::b' at 'roleArns.1.member' failed to satisfy constraint: " \
           "Member must satisfy regular expression pattern: " in msgs[0]
    assert msgs[1].startswith("Value at 'tags.1.member.value' failed")  # sensitive: no value


def test_enum_and_union():
    msgs = validation_messages(shape("CreateTrustAnchor"), {
        "name": "n", "source": {"sourceType": "NOPE", "sourceData": {}}})
    assert any("Member must satisfy enum value set: [AWS_ACM_PCA, CERTIFICATE_BUNDLE, "
               "SELF_SIGNED_REPOSITORY]" in m for m in msgs)
    assert any("at 'source.sourceData' failed to satisfy constraint: Member must have "
               "exactly one member set" in m for m in msgs)


def test_type_mismatch():
    msgs = validation_messages(shape("CreateProfile"), {"name": 5, "roleArns": "x",
                                                        "enabled": "yes"})
    assert sorted(m.split(": ", 1)[1] for m in msgs) == [
        "Member must be of type boolean", "Member must be of type list",
        "Member must be of type string"]


@given(st.text(alphabet="abc -_XYZ019", min_size=1, max_size=255))
def test_every_valid_resource_name_passes(name):
    assert validation_messages(shape("CreateProfile"), {"name": name, "roleArns": []}) == []


@given(st.text(min_size=1, max_size=40).filter(lambda s: any(c in s for c in "!@#$%^&*()/")))
def test_names_with_other_characters_fail_the_pattern(name):
    msgs = validation_messages(shape("CreateProfile"), {"name": name, "roleArns": []})
    assert any("regular expression pattern" in m for m in msgs)
