"""Query-protocol answers are well-formed XML whatever text they echo (found by the fuzzer:
an IAM error quoting an ARN with a control character was unreadable to botocore)."""

from __future__ import annotations

import botocore.parsers
import pytest

from roleport.errors import ValidationError
from roleport.spec.models import load_service
from roleport.spec.serializer import serialize, serialize_error


@pytest.mark.parametrize("text", ["ARN 0000\x1f is not valid.", "nul \x00 bell \x07",
                                  "lone \ud800 surrogate", "\ufffe\uffff", "ok <&> é 𝕋"])
def test_query_errors_echoing_any_text_parse_with_botocore(text: str) -> None:
    service = load_service("iam")
    response = serialize_error(service, ValidationError(text, code="InvalidInput"), "rid-1")
    parsed = botocore.parsers.create_parser("query").parse(
        {"status_code": response.status, "headers": dict(response.headers),
         "body": response.body}, service.model.operation_model("GetRole").output_shape)
    assert parsed["Error"]["Code"] == "InvalidInput"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    kept = "".join(c for c in text if c.isprintable() and c not in "\ud800\ufffe\uffff")
    assert all(c in parsed["Error"]["Message"] for c in kept)


def test_query_results_with_control_characters_parse_with_botocore() -> None:
    service = load_service("iam")
    operation = service.model.operation_model("GetRolePolicy")
    response = serialize(service, operation, {"RoleName": "r\x01", "PolicyName": "p",
                                              "PolicyDocument": "{}\x0b"}, "rid-2")
    parsed = botocore.parsers.create_parser("query").parse(
        {"status_code": 200, "headers": dict(response.headers), "body": response.body},
        operation.output_shape)
    assert parsed["RoleName"] == "r\ufffd"
