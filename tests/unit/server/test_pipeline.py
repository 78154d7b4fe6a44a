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
