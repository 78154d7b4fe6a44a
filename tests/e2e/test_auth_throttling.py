"""Wrong-secret attempts are throttled per source address and per access key, through a
real server: raw SigV4 requests from several loopback addresses (127.0.0.0/8 is all
loopback on Linux), and boto3 to show that botocore takes the answer for throttling."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from roleport.testing import Account, RoleportServer

BURST = 3


@pytest.fixture()
def guarded(tmp_path) -> Iterator[RoleportServer]:  # noqa: ANN001
    # a token every 20 s: nothing refills while a test runs
    args = ["--auth-failure-rate", "0.05", "--auth-failure-burst", str(BURST)]
    with RoleportServer(tmp_path / "data", http=True, extra_args=args) as srv:
        yield srv


def _send(server: RoleportServer, account: Account, *, source: str, wrong: bool = False,
          service: str = "rolesanywhere") -> tuple[int, dict[str, str], bytes]:
    if service == "rolesanywhere":
        method, path, body, headers = "GET", "/trustanchors", b"", {}
    else:
        method, path, headers = "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
    secret = account.secret_access_key + ("x" if wrong else "")
    SigV4Auth(Credentials(account.access_key_id, secret), service, "us-east-1").add_auth(
        request)
    parts = urlsplit(server.endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=dict(request.headers.items()))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, \
            response.read()
    finally:
        conn.close()


def _code(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, str]:
    status, headers, body = answer
    if "x-amzn-errortype" in headers:
        return status, headers["x-amzn-errortype"]
    if b"<Code>" in body:
        return status, body.split(b"<Code>")[1].split(b"</Code>")[0].decode()
    return status, ""


def test_a_burst_of_wrong_secrets_is_throttled_and_the_right_secret_still_works(guarded):
    key = guarded.new_account()
    attacker, owner = "127.0.0.11", "127.0.0.12"
    answers = [_code(_send(guarded, key, source=attacker, wrong=True)) for _ in range(BURST)]
    assert answers == [(403, "InvalidSignatureException")] * BURST
    status, headers, body = _send(guarded, key, source=attacker, wrong=True)
    assert (status, headers["x-amzn-errortype"]) == (429, "ThrottlingException")
    assert b"Rate exceeded" in body and int(headers["retry-after"]) >= 1
    # the key's owner, elsewhere, signs correctly: served (a key id is no secret, so
    # knowing it must not lock its owner out) ...
    assert _code(_send(guarded, key, source=owner)) == (200, "")
    # ... but wrong secrets for that key are throttled from anywhere
    assert _code(_send(guarded, key, source=owner, wrong=True)) == (429, "ThrottlingException")
    # the attacker's address is throttled for everything, a correct signature included
    assert _code(_send(guarded, key, source=attacker)) == (429, "ThrottlingException")
    # other keys and addresses are untouched
    other = guarded.new_account()
    assert _code(_send(guarded, other, source="127.0.0.13", wrong=True)) == \
        (403, "InvalidSignatureException")
    assert _code(_send(guarded, other, source="127.0.0.13")) == (200, "")


def test_unknown_access_keys_count_against_the_source(guarded):
    nobody = Account("000000000000", "AKIAUNKNOWNKEY000000", "x" * 40)
    for _ in range(BURST):
        assert _code(_send(guarded, nobody, source="127.0.0.21")) == \
            (403, "UnrecognizedClientException")
    assert _code(_send(guarded, nobody, source="127.0.0.21")) == (429, "ThrottlingException")
    assert _code(_send(guarded, guarded.admin, source="127.0.0.21")) == \
        (429, "ThrottlingException")


def test_query_apis_answer_throttling_as_sts_does_and_botocore_retries_it(guarded):
    key = guarded.new_account()
    for _ in range(BURST):
        assert _code(_send(guarded, key, source="127.0.0.1", wrong=True, service="sts")) == \
            (403, "SignatureDoesNotMatch")
    status, headers, body = _send(guarded, key, source="127.0.0.1", service="sts")
    assert (status, headers["content-type"]) == (400, "text/xml")
    assert b"<Code>Throttling</Code>" in body and b"<Type>Sender</Type>" in body
    # boto3 (from 127.0.0.1, now throttled) sees the code and backs off as for throttling
    sts = guarded.client("sts", key, config=Config(retries={"mode": "standard",
                                                            "max_attempts": 2}))
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    error = exc.value.response
    assert error["Error"]["Code"] == "Throttling"
    assert error["ResponseMetadata"]["RetryAttempts"] > 0  # a signature error is not retried
