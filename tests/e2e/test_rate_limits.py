"""Request rate limits through a real server with two workers: the buckets are shared (a
per-worker split would let twice the burst through), each protocol answers throttling as
AWS does, and boto3's standard retry mode backs off and gets through."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.config import Config

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import Setup
from .wire_support import error_code, send, session_request, signed_request

SLOW = "0.01"  # a token every 100 s: nothing refills while a test runs


@pytest.fixture(scope="module")
def limited() -> Iterator[RoleportServer]:
    args = ["--workers", "2", "--rolesanywhere-rate-per-key", f"{SLOW}/4",
            "--iam-rate-per-key", f"{SLOW}/4", "--sts-rate-per-key", "off",
            "--create-session-rate-per-certificate", f"{SLOW}/3",
            "--create-session-rate-per-source", f"{SLOW}/5"]
    with RoleportServer(http=True, rate_limits=True, extra_args=args) as srv:
        yield srv








def test_control_plane_burst_is_shared_by_the_workers(limited: RoleportServer) -> None:
    key = limited.new_account()
    request = signed_request(limited, key, "rolesanywhere")
    # 20 fresh connections: both workers get at least 4 of them (but 3 times in 1,000), so
    # buckets of their own would serve 8
    answers = [error_code(send(limited, request)) for _ in range(20)]
    assert answers[:4] == [(200, "")] * 4
    assert answers[4:] == [(429, "ThrottlingException")] * 16
    status, headers, body = send(limited, request)
    assert status == 429 and json.loads(body)["message"] == "Rate exceeded"
    assert int(headers["retry-after"]) >= 1
    assert int(headers["x-amz-retry-after"]) == int(headers["retry-after"]) * 1000
    assert headers["x-amzn-requestid"]
    # another key is not affected, nor another API family of the same key
    other = signed_request(limited, limited.new_account(), "rolesanywhere")
    assert error_code(send(limited, other)) == (200, "")
    assert limited.client("rolesanywhere", key).list_profiles()["profiles"] == []


def test_iam_answers_throttling_in_the_query_shape(limited: RoleportServer) -> None:
    key = limited.new_account()
    request = signed_request(limited, key, "iam")
    answers = [error_code(send(limited, request)) for _ in range(7)]
    assert answers == [(200, "")] * 4 + [(400, "Throttling")] * 3
    status, headers, body = send(limited, request)
    assert headers["content-type"] == "text/xml" and b"<Type>Sender</Type>" in body
    assert b"<Message>Rate exceeded</Message>" in body and headers["x-amz-retry-after"]
    sts = signed_request(limited, key, "sts")  # STS's limit is off here
    assert [error_code(send(limited, sts)) for _ in range(6)] == [(200, "")] * 6




def test_create_session_is_limited_per_certificate_and_per_source(limited: RoleportServer,
                                                                  pki) -> None:  # noqa: ANN001
    setup = Setup(limited, limited.new_account(), [pki.root])
    alice, bob, carol = (devpki.issue_leaf(pki.intermediate, cn) for cn in ("a", "b", "c"))
    first = "127.0.0.41"
    as_alice = session_request(limited, setup, alice)
    answers = [error_code(send(limited, as_alice, source=first)) for _ in range(4)]
    assert answers == [(201, "")] * 3 + [(429, "ThrottlingException")]  # the certificate
    # alice from another address is still the same certificate
    assert error_code(send(limited, as_alice, source="127.0.0.42")) == \
        (429, "ThrottlingException")
    # the first address has one token left of its 5: bob gets it, carol does not
    assert error_code(send(limited, session_request(limited, setup, bob), source=first)) == \
        (201, "")
    as_carol = session_request(limited, setup, carol)
    assert error_code(send(limited, as_carol, source=first)) == (429, "ThrottlingException")
    assert error_code(send(limited, as_carol, source="127.0.0.43")) == (201, "")


@pytest.fixture(scope="module")
def retrying() -> Iterator[RoleportServer]:
    args = ["--rolesanywhere-rate-per-key", "2/2", "--iam-rate-per-key", "2/2",
            "--sts-rate-per-key", "2/2"]
    with RoleportServer(http=True, rate_limits=True, extra_args=args) as srv:
        yield srv


@pytest.mark.parametrize("service", ["rolesanywhere", "iam", "sts"])
def test_boto3_standard_retries_back_off_and_get_through(retrying: RoleportServer,
                                                         service: str) -> None:
    client = retrying.client(service, retrying.new_account(),
                             config=Config(retries={"mode": "standard", "max_attempts": 8}))
    call = {"rolesanywhere": client.list_trust_anchors if service == "rolesanywhere" else None,
            "iam": getattr(client, "list_roles", None),
            "sts": getattr(client, "get_caller_identity", None)}[service]
    retries = 0
    for _ in range(5):  # a burst of 2, then a token every half second
        response = call()
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        retries += response["ResponseMetadata"]["RetryAttempts"]
    assert retries >= 1  # throttled, recognised as such by botocore, retried, served
