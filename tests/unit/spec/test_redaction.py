"""Secrets leave no trace in audit records: driven by the service models."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import botocore.model
import pytest

from roleport.spec.models import SERVICES_BY_SIGNING_NAME, load_service
from roleport.spec.redaction import HIDDEN, SECRET_MEMBERS, SUMMARISED_MEMBERS, redact

SECRET = "SECRET-d41d8cd9"
SERVICES = [name for names in SERVICES_BY_SIGNING_NAME.values() for name in names]


def sample(shape: botocore.model.Shape, name: str = "", depth: int = 0) -> Any:
    """A value of ``shape`` in which every secret (by the model or by name) is SECRET."""
    secret = shape.metadata.get("sensitive") or name in SECRET_MEMBERS
    t = shape.type_name
    if depth > 6:
        return None
    if isinstance(shape, botocore.model.StructureShape):
        return {n: sample(m, n, depth + 1) for n, m in shape.members.items()}
    if isinstance(shape, botocore.model.ListShape):
        return [sample(shape.member, "", depth + 1)]
    if isinstance(shape, botocore.model.MapShape):
        key = SECRET if shape.key.metadata.get("sensitive") else "key"
        return {key: sample(shape.value, "", depth + 1)}
    if t == "string":
        return SECRET if secret or name in SUMMARISED_MEMBERS else f"value-of-{shape.name}"
    if t == "blob":
        return SECRET.encode() if secret or name in SUMMARISED_MEMBERS else b"blob"
    if t in ("integer", "long"):
        return 1
    if t == "boolean":
        return True
    if t == "timestamp":
        return datetime(2026, 1, 1, tzinfo=UTC)
    return "x"


def _operations():
    for service in SERVICES:
        model = load_service(service).model
        for op in model.operation_names:
            yield pytest.param(service, op, id=f"{service}.{op}")


@pytest.mark.parametrize(("service", "operation"), list(_operations()))
def test_no_secret_survives_in_any_input_or_output(service: str, operation: str) -> None:
    op = load_service(service).model.operation_model(operation)
    for shape in (op.input_shape, op.output_shape):
        if shape is None:
            continue
        value = sample(shape)
        before = copy.deepcopy(value)
        shown = json.dumps(redact(shape, value), default=str)
        assert SECRET not in shown
        assert value == before  # the caller's dict is not changed


def test_create_session_credentials_keep_only_the_access_key_id() -> None:
    op = load_service("rolesanywhere-sessions").model.operation_model("CreateSession")
    result = {"credentialSet": [{"credentials": {
        "accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "s3cr3t", "sessionToken": "tok",
        "expiration": "2026-01-01T00:00:00Z"}, "roleArn": "arn:aws:iam::1:role/r"}],
        "subjectArn": "arn:x"}
    shown = redact(op.output_shape, result)
    creds = shown["credentialSet"][0]["credentials"]
    assert creds == {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": HIDDEN,
                     "sessionToken": HIDDEN, "expiration": "2026-01-01T00:00:00Z"}
    assert shown["credentialSet"][0]["roleArn"] == "arn:aws:iam::1:role/r"


def test_sts_session_tokens_are_hidden_though_botocore_does_not_mark_them() -> None:
    op = load_service("sts").model.operation_model("AssumeRole")
    assert not op.output_shape.members["Credentials"].members["SessionToken"] \
        .metadata.get("sensitive")
    shown = redact(op.output_shape, {"Credentials": {"AccessKeyId": "ASIA1",
                                                     "SecretAccessKey": "s", "SessionToken": "t"}})
    assert shown["Credentials"] == {"AccessKeyId": "ASIA1", "SecretAccessKey": HIDDEN,
                                    "SessionToken": HIDDEN}


def test_certificate_bundles_are_summarised_not_copied() -> None:
    op = load_service("rolesanywhere").model.operation_model("CreateTrustAnchor")
    pem = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
    shown = redact(op.input_shape, {"name": "ca", "source": {
        "sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pem}},
        "tags": [{"key": "team", "value": "ops"}]})
    summary = shown["source"]["sourceData"]["x509CertificateData"]
    assert set(summary) == {"sha256", "length"} and summary["length"] == len(pem)
    assert shown["name"] == "ca"
    # Roles Anywhere marks tag keys and values sensitive: CloudTrail hides them too
    assert shown["tags"] == [{"key": HIDDEN, "value": HIDDEN}]


def test_a_shape_without_secrets_is_passed_through_as_is() -> None:
    op = load_service("rolesanywhere").model.operation_model("ListTrustAnchors")
    params = {"pageSize": 10}
    assert redact(op.input_shape, params) is params
