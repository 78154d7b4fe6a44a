"""The pipeline turns unexpected failures into a 500 with a request id, never a trace."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest

from roleport.auth.identities import Identity
from roleport.auth.verifier import Credential, SigningRequest, sign_request
from roleport.clock import SystemClock
from roleport.offload import MoveToThread, network_wait, run_on_loop
from roleport.server.http import Request
from roleport.server.pipeline import Outcome, Pipeline
from roleport.storage.base import StorageError


class Exploding:
    def list_trust_anchors(self, caller, params):  # noqa: ANN001, ANN201
        raise KeyError("secret internals")

    def list_profiles(self, caller, params):  # noqa: ANN001, ANN201
        raise StorageError("connection refused")

    def list_crls(self, caller, params):  # noqa: ANN001, ANN201
        network_wait("a CRL distribution point")
        return {"crls": []}


def lookup(key_id, token):  # noqa: ANN001, ANN201
    return Credential("secret", Identity("123456789012", "arn:aws:iam::123456789012:root",
                                         "123456789012"))


def signed_request(path: str) -> Request:
    base = SigningRequest("GET", path, "", [("host", "roleport.test")], b"")
    done = sign_request(base, access_key_id="AKIAEXAMPLE", secret_access_key="secret",
                        region="us-east-1", service="rolesanywhere",
                        now=datetime.now(timezone.utc))
    return Request("GET", path, "", done.headers, b"", request_id="req-123")


def test_unexpected_exception_is_internal_failure_with_request_id(caplog):
    pipeline = Pipeline({"rolesanywhere": Exploding()}, lookup, SystemClock())
    with caplog.at_level(logging.ERROR, logger="roleport.server"):
        response = pipeline.handle(signed_request("/trustanchors"), Outcome())
    assert response.status == 500
    body = json.loads(response.body)
    assert "req-123" in body["message"]
    assert "secret internals" not in response.body.decode()
    assert "Traceback" not in response.body.decode()
    assert dict(response.headers)["x-amzn-ErrorType"] == "InternalFailure"
    assert any(r.exc_info for r in caplog.records)  # the trace goes to the server log


def test_storage_failure_is_503_with_retry_information():
    pipeline = Pipeline({"rolesanywhere": Exploding()}, lookup, SystemClock())
    response = pipeline.handle(signed_request("/profiles"), Outcome())
    assert response.status == 503
    assert json.loads(response.body)["retryAfterSeconds"] == 1
    assert "connection refused" not in response.body.decode()


def test_a_request_that_must_wait_on_the_network_leaves_the_loop_unanswered():
    """Not a 500: the app runs it again on a thread, where it completes."""
    pipeline = Pipeline({"rolesanywhere": Exploding()}, lookup, SystemClock())
    with pytest.raises(MoveToThread):
        run_on_loop(pipeline.handle, signed_request("/crls"), Outcome())
    response = pipeline.handle(signed_request("/crls"), Outcome())
    assert response.status == 200
    assert json.loads(response.body) == {"crls": []}


def _sts_request() -> Request:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = [("host", "roleport.test"),
               ("content-type", "application/x-www-form-urlencoded")]
    done = sign_request(SigningRequest("POST", "/", "", headers, body),
                        access_key_id="AKIAEXAMPLE", secret_access_key="secret",
                        region="us-east-1", service="sts", now=datetime.now(timezone.utc))
    return Request("POST", "/", "", done.headers, body, request_id="req-9")


def test_refusing_a_request_answers_in_the_shape_of_the_service_it_names():
    from roleport.errors import ServiceUnavailableError

    pipeline = Pipeline({"rolesanywhere": Exploding(), "sts": Exploding()}, lookup,
                        SystemClock())

    def busy() -> ServiceUnavailableError:
        return ServiceUnavailableError("busy", retry_after_seconds=1)

    outcome = Outcome()
    query = pipeline.refuse(_sts_request(), busy(), outcome)
    assert query.status == 503 and b"<Code>ServiceUnavailable</Code>" in query.body
    assert b"<Type>Receiver</Type>" in query.body
    assert (outcome.service, outcome.error_code) == ("sts", "ServiceUnavailable")
    assert dict(query.headers)["x-amz-retry-after"] == "1000"
    rest = pipeline.refuse(signed_request("/trustanchors"), busy(), Outcome())
    assert rest.status == 503 and json.loads(rest.body) == {"message": "busy",
                                                            "retryAfterSeconds": 1}
    assert dict(rest.headers)["x-amzn-ErrorType"] == "ServiceUnavailableException"
    assert dict(rest.headers)["Retry-After"] == "1"
    unsigned = pipeline.refuse(Request("GET", "/", "", [], b"", request_id="r"), busy(),
                               Outcome())
    assert unsigned.status == 503 and b"busy" in unsigned.body  # JSON, no service known
