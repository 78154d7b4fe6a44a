"""Wrong-secret attempts are throttled per source address and per access key, through a
real server: raw SigV4 requests from several loopback addresses (127.0.0.0/8 is all
loopback on Linux), and boto3 to show that botocore takes the answer for throttling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from roleport.testing import Account, RoleportServer

from .wire_support import Answer, error_code, send, signed_request

BURST = 3


@pytest.fixture()
def guarded(tmp_path) -> Iterator[RoleportServer]:  # noqa: ANN001
    # a token every 20 s: nothing refills while a test runs
    args = ["--auth-failure-rate", "0.05", "--auth-failure-burst", str(BURST)]
    with RoleportServer(tmp_path / "data", http=True, extra_args=args) as srv:
        yield srv


def _send(server: RoleportServer, account: Account, *, source: str, wrong: bool = False,
          service: str = "rolesanywhere") -> Answer:
    return send(server, signed_request(server, account, service, wrong_secret=wrong),
                source=source, timeout=10)




def test_a_burst_of_wrong_secrets_is_throttled_and_the_right_secret_still_works(guarded):
    key = guarded.new_account()
    attacker, owner = "127.0.0.11", "127.0.0.12"
    answers = [error_code(_send(guarded, key, source=attacker, wrong=True)) for _ in range(BURST)]
    assert answers == [(403, "InvalidSignatureException")] * BURST
    status, headers, body = _send(guarded, key, source=attacker, wrong=True)
    assert (status, headers["x-amzn-errortype"]) == (429, "ThrottlingException")
    assert b"Rate exceeded" in body and int(headers["retry-after"]) >= 1
    # the key's owner, elsewhere, signs correctly: served (a key id is no secret, so
    # knowing it must not lock its owner out) ...
    assert error_code(_send(guarded, key, source=owner)) == (200, "")
    # ... but wrong secrets for that key are throttled from anywhere
    assert error_code(_send(guarded, key, source=owner, wrong=True)) == (429, "ThrottlingException")
    # the attacker's address is throttled for everything, a correct signature included
    assert error_code(_send(guarded, key, source=attacker)) == (429, "ThrottlingException")
    # other keys and addresses are untouched
    other = guarded.new_account()
    assert error_code(_send(guarded, other, source="127.0.0.13", wrong=True)) == \
        (403, "InvalidSignatureException")
    assert error_code(_send(guarded, other, source="127.0.0.13")) == (200, "")


def test_unknown_access_keys_count_against_the_source(guarded):
    nobody = Account("000000000000", "AKIAUNKNOWNKEY000000", "x" * 40)
    for _ in range(BURST):
        assert error_code(_send(guarded, nobody, source="127.0.0.21")) == \
            (403, "UnrecognizedClientException")
    assert error_code(_send(guarded, nobody, source="127.0.0.21")) == (429, "ThrottlingException")
    assert error_code(_send(guarded, guarded.admin, source="127.0.0.21")) == \
        (429, "ThrottlingException")


def test_query_apis_answer_throttling_as_sts_does_and_botocore_retries_it(guarded):
    key = guarded.new_account()
    for _ in range(BURST):
        assert error_code(_send(guarded, key, source="127.0.0.1", wrong=True, service="sts")) == \
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
