"""botocore's own serializers and parsers agree with ours, for every operation.

Request direction: botocore's client serializer builds the request, our router and
parser must recover the very same parameters. Response direction: our serializer's
output must parse with botocore's response parser into the same values.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import botocore.parsers
import botocore.serialize
import pytest
from botocore.awsrequest import prepare_request_dict

from roleport.spec.models import load_service
from roleport.spec.parser import parse_query, parse_rest_json
from roleport.spec.router import QueryRouter, RestRouter
from roleport.spec.serializer import serialize

from .examples import example

SERVICES = ["rolesanywhere", "rolesanywhere-sessions", "iam", "sts"]


def _cases(*, with_output=False):
    for name in SERVICES:
        service = load_service(name)
        for op in service.model.operation_names:
            if with_output and service.model.operation_model(op).output_shape is None:
                continue
            yield pytest.param(name, op, id=f"{name}.{op}")


def _normalise(value):
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def _botocore_request(service, operation, params):
    serializer = botocore.serialize.create_serializer(service.protocol, include_validation=False)
    request = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request, endpoint_url="https://roleport.test")
    return request


@pytest.mark.parametrize("service_name,op_name", list(_cases()))
def test_botocore_request_parses_back_to_the_same_parameters(service_name, op_name):
    service = load_service(service_name)
    operation = service.model.operation_model(op_name)
    params = example(operation.input_shape) if operation.input_shape else {}
    request = _botocore_request(service, operation, params)
    url = urlsplit(request["url"])
    query = parse_qs(url.query, keep_blank_values=True)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    body = request["body"] or b""
    if isinstance(body, dict):  # query protocol: botocore leaves the form as a dict
        form = {k: [str(v)] for k, v in body.items()}
        match = QueryRouter(service).match(form)
        parsed = parse_query(match.operation, form)
    else:
        if isinstance(body, str):
            body = body.encode()
        router = RestRouter((load_service("rolesanywhere"), load_service("rolesanywhere-sessions")))
        match = router.match(request["method"], url.path, query)
        assert match.operation.name == op_name
        parsed = parse_rest_json(match.operation, match.path_params, query, headers, body)
    assert match.operation.name == op_name
    assert _normalise(parsed) == _normalise(params)


@pytest.mark.parametrize("service_name,op_name", list(_cases(with_output=True)))
def test_our_response_parses_with_botocore(service_name, op_name):
    service = load_service(service_name)
    operation = service.model.operation_model(op_name)
    result = example(operation.output_shape)
    response = serialize(service, operation, result, "req-1")
    parser = botocore.parsers.create_parser(service.protocol)
    parsed = parser.parse({"status_code": response.status,
                           "headers": dict(response.headers), "body": response.body},
                          operation.output_shape)
    parsed.pop("ResponseMetadata")
    assert _normalise(parsed) == _normalise(result)
    assert response.status == operation.http.get("responseCode", 200)
