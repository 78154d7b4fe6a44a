"""What the server answers on the wire: authentication failures, malformed requests,
unknown services and operations, health, request ids. Raw HTTP signed by botocore."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .conftest import bundle_source


def signed(server, account, method, path, body=b"", *, service="rolesanywhere",  # noqa: ANN001
           region="us-east-1", secret=None, key_id=None, when=None, headers=None):  # noqa: ANN001
    url = server.endpoint + path
    req = AWSRequest(method=method, url=url, data=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
    creds = Credentials(key_id or account.access_key_id, secret or account.secret_access_key)
    auth = SigV4Auth(creds, service, region)
    if when is not None:
        import botocore.auth as ba

        real = ba.datetime.datetime

        class Fixed(real):  # type: ignore[misc, valid-type]
            @classmethod
            def utcnow(cls):  # noqa: ANN206
                return when.replace(tzinfo=None)

            @classmethod
            def now(cls, tz=None):  # noqa: ANN001, ANN206
                return when if tz else when.replace(tzinfo=None)

        ba.datetime.datetime = Fixed
        try:
            auth.add_auth(req)
        finally:
            ba.datetime.datetime = real
    else:
        auth.add_auth(req)
    return httpx.request(method, url, content=body, headers=dict(req.headers.items()),
                         verify=_tls(server))


def _tls(server):  # noqa: ANN001, ANN202
    import ssl

    return ssl.create_default_context(cafile=str(server.ca_bundle))


def assert_error(resp, status, code, contains=""):  # noqa: ANN001
    assert resp.status_code == status, resp.text
    assert resp.headers["x-amzn-ErrorType"] == code
    assert resp.headers["x-amzn-RequestId"]
    body = resp.json()
    assert contains in body["message"]
    assert "Traceback" not in resp.text


def test_unsigned_request_is_missing_authentication_token(server):
    resp = httpx.get(server.endpoint + "/trustanchors", verify=_tls(server))
    assert_error(resp, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")


def test_wrong_secret_is_invalid_signature_and_changes_nothing(server, account, pki):
    body = json.dumps({"name": "x", "source": bundle_source(pki.root)}).encode()
    resp = signed(server, account, "POST", "/trustanchors", body, secret="wrong" * 8)
    assert_error(resp, 403, "InvalidSignatureException", "does not match")
    ok = signed(server, account, "GET", "/trustanchors")
    assert ok.status_code == 200 and ok.json()["trustAnchors"] == []


def test_unknown_access_key_is_unrecognized_client(server, account):
    resp = signed(server, account, "GET", "/trustanchors", key_id="AKIAUNKNOWNUNKNOWN00")
    assert_error(resp, 403, "UnrecognizedClientException", "security token")


@pytest.mark.parametrize("minutes", [-6, 6])
def test_clock_skew_beyond_five_minutes_is_refused(server, account, minutes):
    when = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    resp = signed(server, account, "GET", "/trustanchors", when=when)
    assert_error(resp, 403, "InvalidSignatureException", "Signature")


def test_clock_skew_within_five_minutes_is_accepted(server, account):
    when = datetime.now(timezone.utc) - timedelta(minutes=4)
    assert signed(server, account, "GET", "/trustanchors", when=when).status_code == 200


def test_malformed_authorization_header(server):
    resp = httpx.get(server.endpoint + "/trustanchors", verify=_tls(server),
                     headers={"Authorization": "AWS4-HMAC-SHA256 Credential=abc",
                              "X-Amz-Date": "20260101T000000Z"})
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] in ("IncompleteSignatureException",
                                                "InvalidSignatureException")


def test_presigned_query_form_is_accepted(server, account):
    from botocore.auth import SigV4QueryAuth

    url = server.endpoint + "/trustanchors"
    req = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials(account.access_key_id, account.secret_access_key),
                   "rolesanywhere", "us-east-1", expires=60).add_auth(req)
    resp = httpx.get(req.url, verify=_tls(server))
    assert resp.status_code == 200 and resp.json() == {"trustAnchors": []}


def test_malformed_json_is_400_not_500(server, account):
    resp = signed(server, account, "POST", "/trustanchors", b'{"name": ')
    assert resp.status_code == 400
    assert resp.headers["x-amzn-ErrorType"] in ("SerializationException", "ValidationException")


def test_wrong_json_types_are_validation_errors(server, account):
    body = json.dumps({"name": 7, "source": "x", "enabled": "yes"}).encode()
    resp = signed(server, account, "POST", "/trustanchors", body)
    assert_error(resp, 400, "ValidationException", "Member must be of type")


def test_wrong_content_type_is_400(server, account):
    resp = signed(server, account, "POST", "/trustanchors", b"<xml/>",
                  headers={"Content-Type": "text/xml"})
    assert resp.status_code == 400 and "Content-Type" in resp.json()["message"]


def test_body_over_the_limit_is_400(server, account):
    resp = signed(server, account, "POST", "/trustanchors", b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert_error(resp, 400, "ValidationException", "larger than the limit")


def test_unknown_operation_and_method(server, account):
    assert_error(signed(server, account, "GET", "/no-such-thing"), 404,
                 "UnknownOperationException")
    assert_error(signed(server, account, "PUT", "/trustanchors"), 404,
                 "UnknownOperationException", "not supported")


def test_unknown_service_is_a_clear_error(server, account):
    resp = signed(server, account, "GET", "/", service="ec2")
    assert resp.status_code == 400
    assert resp.headers["x-amzn-ErrorType"] == "UnknownServiceException"
    assert "ec2" in resp.json()["message"]


def test_health_needs_no_authentication(server):
    resp = httpx.get(server.endpoint + "/_roleport/health", verify=_tls(server))
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok" and resp.json()["database"] == "ok"


def test_every_response_carries_a_request_id(server, account):
    ids = {signed(server, account, "GET", "/trustanchors").headers["x-amzn-RequestId"]
           for _ in range(3)}
    assert len(ids) == 3


def test_metrics_are_exposed(server, account):
    signed(server, account, "GET", "/trustanchors")
    resp = httpx.get(server.endpoint + "/_roleport/metrics", verify=_tls(server))
    assert resp.status_code == 200 and "roleport_requests_total" in resp.text


def test_access_log_is_json_and_never_holds_secrets(server, account, pki):
    body = json.dumps({"name": "logged", "source": bundle_source(pki.root)}).encode()
    assert signed(server, account, "POST", "/trustanchors", body).status_code == 201
    signed(server, account, "GET", "/trustanchors", secret="wrong" * 8)
    import time

    time.sleep(0.2)
    text = "".join(server.output)
    assert account.secret_access_key not in text
    lines = [json.loads(line) for line in server.output if line.startswith("{")]
    ours = [entry for entry in lines if entry.get("account") == account.account_id]
    assert any(e["operation"] == "CreateTrustAnchor" and e["status"] == 201 for e in ours)
    for entry in ours:
        assert {"request_id", "operation", "status", "latency_ms"} <= set(entry)
    # no header value: a refusal's reason may name the header ("Authorization header
    # requires 'Signature' parameter."), never carry it
    assert "Authorization=" not in text and "Signature=" not in text
    assert "AWS4-HMAC-SHA256 Credential" not in text


@pytest.mark.parametrize("authorization", [None, "AWS4-X509-ECDSA-SHA256 garbage"])
def test_unreadable_create_session_signature_is_access_denied(server, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    resp = httpx.post(server.endpoint + "/sessions", content=b"{}", headers=headers,
                      verify=_tls(server))
    assert_error(resp, 403, "AccessDeniedException", "Invalid signature")
