"""Round trips with botocore on generated values, for every served operation.

test_roundtrip.py checks one hand-picked example per operation; here hypothesis draws
values from each shape (any unicode text, sizes and numbers in range, nested lists and
maps, timestamps, blobs): botocore's client serializer -> our router and parser must give
back the parameters, and our serializer -> botocore's response parser the result.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.model
import botocore.parsers
import botocore.serialize
import pytest
from botocore.awsrequest import prepare_request_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roleport.server.providers.iam import IamProvider
from roleport.server.providers.sts import StsProvider
from roleport.spec.models import load_service
from roleport.spec.openapi import flatten_query, served_operations
from roleport.spec.parser import parse_query, parse_rest_json
from roleport.spec.router import QueryRouter, RestRouter
from roleport.spec.serializer import serialize

#: every operation Roleport serves (the others are refused before their parameters matter)
PROVIDERS = {"rolesanywhere": None, "rolesanywhere-sessions": None, "iam": IamProvider,
             "sts": StsProvider}
_SETTINGS = settings(max_examples=30, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: text XML and every transport carry unchanged (no control characters: XML cannot carry
#: them at all, see test_xml_text.py; no lone surrogates: not UTF-8)
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
#: text for headers: printable ASCII, no surrounding spaces (HTTP trims them)
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12)


def _cases(*, output: bool) -> list[Any]:
    out = []
    for name, operations in served_operations(PROVIDERS).items():
        service = load_service(name)
        for op in operations:
            shape = service.model.operation_model(op)
            if (shape.output_shape if output else shape.input_shape) is not None:
                out.append(pytest.param(name, op, id=f"{name}.{op}"))
    return out


def values(shape: botocore.model.Shape, *, location: str | None = None,
           depth: int = 0) -> st.SearchStrategy[Any]:
    t, meta = shape.type_name, shape.metadata
    if t == "structure":
        members = {n: m for n, m in shape.members.items()
                   if m.serialization.get("location") not in ("statusCode", "headers")
                   and depth < 8}
        if meta.get("union"):
            if not members:
                return st.just({})
            return st.sampled_from(sorted(members)).flatmap(
                lambda n: st.fixed_dictionaries({n: values(members[n], depth=depth + 1)}))
        required = {n: values(m, location=m.serialization.get("location"), depth=depth + 1)
                    for n, m in members.items() if n in shape.required_members}
        optional = {n: values(m, location=m.serialization.get("location"), depth=depth + 1)
                    for n, m in members.items() if n not in shape.required_members}
        made = st.fixed_dictionaries(required, optional=optional)
        # an empty nested structure has no form fields at all in the query protocol
        return made.filter(bool) if depth and members else made
    if t == "list":
        return st.lists(values(shape.member, location=location, depth=depth + 1),
                        min_size=1, max_size=3)
    if t == "map":
        return st.dictionaries(_TEXT.filter(bool), values(shape.value, depth=depth + 1),
                               min_size=1, max_size=3)
    if t == "string":
        if shape.enum:
            return st.sampled_from(list(shape.enum))
        text = _HEADER_TEXT if location == "header" else _TEXT
        return text.filter(bool) if location == "uri" else text
    if t in ("integer", "long"):
        bits = 31 if t == "integer" else 63
        return st.integers(int(meta.get("min", -(1 << bits))), int(meta.get("max", (1 << bits) - 1)))
    if t in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False, width=32).map(float)
    if t == "boolean":
        return st.booleans()
    if t == "blob":
        return st.binary(max_size=16)
    if t == "timestamp":
        return st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)) \
            .map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))
    raise AssertionError(t)


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    return value


@pytest.mark.parametrize(("service_name", "op_name"), _cases(output=False))
def test_botocore_serialized_requests_parse_back_for_any_values(service_name: str,
                                                                op_name: str) -> None:
    service = load_service(service_name)
    operation = service.model.operation_model(op_name)
    serializer = botocore.serialize.create_serializer(service.protocol,
                                                      include_validation=False)
    router = RestRouter((load_service("rolesanywhere"), load_service("rolesanywhere-sessions")))

    @_SETTINGS
    @given(params=values(operation.input_shape))
    def round_trip(params: dict[str, Any]) -> None:
        request = serializer.serialize_to_request(params, operation)
        prepare_request_dict(request, endpoint_url="https://roleport.test")
        body = request["body"] or b""
        if isinstance(body, dict):  # query protocol: botocore leaves the form as a dict
            form = {k: [str(v)] for k, v in body.items()}
            match = QueryRouter(service).match(form)
            parsed = parse_query(match.operation, form)
        else:
            url = urlsplit(request["url"])
            query = parse_qs(url.query, keep_blank_values=True)
            headers = {k.lower(): v for k, v in request["headers"].items()}
            match = router.match(request["method"], url.path, query)
            parsed = parse_rest_json(match.operation, match.path_params, query, headers,
                                     body.encode() if isinstance(body, str) else body)
        assert match.operation.name == op_name
        assert _normalise(parsed) == _normalise(params)

    round_trip()


@pytest.mark.parametrize(("service_name", "op_name"), _cases(output=True))
def test_our_responses_parse_with_botocore_for_any_values(service_name: str,
                                                          op_name: str) -> None:
    service = load_service(service_name)
    operation = service.model.operation_model(op_name)
    parser = botocore.parsers.create_parser(service.protocol)

    @_SETTINGS
    @given(result=values(operation.output_shape))
    def round_trip(result: dict[str, Any]) -> None:
        response = serialize(service, operation, result, "req-1")
        parsed = parser.parse({"status_code": response.status,
                               "headers": dict(response.headers), "body": response.body},
                              operation.output_shape)
        parsed.pop("ResponseMetadata")
        assert _normalise(parsed) == _normalise(result)

    round_trip()


def _as_json(value: Any, serializer: Any) -> Any:
    """What a JSON-minded client (schemathesis) holds for ``value``: text for timestamps
    (in botocore's form) and base64 text for blobs."""
    if isinstance(value, dict):
        return {k: _as_json(v, serializer) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v, serializer) for v in value]
    if isinstance(value, datetime):
        return serializer._timestamp_iso8601(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


@pytest.mark.parametrize("op_name", [p.values[1] for p in _cases(output=False)
                                     if p.values[0] in ("iam", "sts")])
def test_flatten_query_writes_the_form_botocore_writes(op_name: str) -> None:
    """The fuzzer's query-protocol encoder (roleport.spec.openapi.flatten_query) puts on
    the wire what botocore's query serializer does."""
    service = load_service("iam" if op_name not in ("AssumeRole", "GetCallerIdentity")
                           else "sts")
    operation = service.model.operation_model(op_name)
    serializer = botocore.serialize.create_serializer("query", include_validation=False)

    @_SETTINGS
    @given(params=values(operation.input_shape))
    def same_form(params: dict[str, Any]) -> None:
        expected = serializer.serialize_to_request(params, operation)["body"]
        expected = {k: str(v) for k, v in expected.items() if k not in ("Action", "Version")}
        assert flatten_query(operation.input_shape, _as_json(params, serializer)) == expected

    same_form()
