"""verify(): each failure kind with its message, and the request forms it accepts."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from roleport.auth.sigv4 import SigningKeyCache
from roleport.auth.verifier import (
    Credential,
    SigningRequest,
    read_signed_request,
    service_and_region_of,
    sign_request,
    verify,
)
from roleport.errors import AuthenticationError

from .helpers import frozen, to_signing_request

KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = dt.datetime(2024, 1, 1, 0, 10, tzinfo=dt.timezone.utc)
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def lookup(access_key_id: str, session_token: str | None) -> Credential | None:
    return Credential(SECRET, identity="alice") if access_key_id == KEY_ID else None


def unsigned(**changes: object) -> SigningRequest:
    request = SigningRequest(
        "POST", "/", "", [("host", "sts.us-east-1.amazonaws.com"),
                          ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
                          ("user-agent", "test")], BODY)
    return replace(request, **changes)


def signed(request: SigningRequest | None = None, *, service: str = "sts",
           region: str = "us-east-1", at: dt.datetime = NOW,
           token: str | None = None) -> SigningRequest:
    return sign_request(request or unsigned(), access_key_id=KEY_ID, secret_access_key=SECRET,
                        region=region, service=service, now=at, session_token=token)


def with_header(request: SigningRequest, name: str, value: str | None) -> SigningRequest:
    headers = [(n, v) for n, v in request.headers if n != name]
    return replace(request, headers=headers + ([(name, value)] if value is not None else []))


def refusal(request: SigningRequest, **kwargs: object) -> AuthenticationError:
    kwargs.setdefault("expected_service", "sts")
    with pytest.raises(AuthenticationError) as info:
        verify(request, lookup, now=NOW, **kwargs)  # type: ignore[arg-type]
    return info.value


def authz(request: SigningRequest) -> str:
    return dict(request.headers)["authorization"]


# ------------------------------------------------------------------------ accepted


def test_verify_accepts_our_own_signer_and_reports_who_and_where() -> None:
    result = verify(signed(), lookup, now=NOW, expected_service="sts",
                    expected_region="us-east-1")
    assert (result.identity, result.access_key_id, result.service, result.region) == (
        "alice", KEY_ID, "sts", "us-east-1")
    assert result.signed_at == NOW
    assert "user-agent" not in result.authorization.signed_headers


def test_sign_request_reproduces_botocore() -> None:
    request = AWSRequest(method="POST", url="https://sts.us-east-1.amazonaws.com/", data=BODY,
                         headers={"Content-Type": "application/x-www-form-urlencoded; "
                                                  "charset=utf-8", "User-Agent": "test"})
    with frozen(NOW.replace(tzinfo=None)):
        botocore.auth.SigV4Auth(Credentials(KEY_ID, SECRET, "tok"), "sts",
                                "us-east-1").add_auth(request)
    ours = signed(token="tok")
    assert authz(ours) == request.headers["Authorization"]
    assert dict(ours.headers)["x-amz-security-token"] == "tok"


def test_verify_accepts_the_date_header_instead_of_x_amz_date() -> None:
    request = signed(with_header(unsigned(), "date", "whatever, it is replaced"))
    assert "x-amz-date" not in dict(request.headers)
    assert dict(request.headers)["date"] == "Mon, 01 Jan 2024 00:10:00 -0000"
    verify(request, lookup, now=NOW, expected_service="sts")


def test_verify_accepts_upper_case_signature_hex() -> None:
    request = signed()
    value = authz(request)
    prefix, _, signature = value.rpartition("Signature=")
    verify(with_header(request, "authorization", f"{prefix}Signature={signature.upper()}"),
           lookup, now=NOW, expected_service="sts")


def test_verify_accepts_hand_built_urls_signed_with_bare_reserved_characters() -> None:
    # botocore signs a URL it did not build from its raw, un-re-encoded query.
    request = AWSRequest(method="GET", url="https://sts.amazonaws.com/?path=/a/b&arn=a:b:c&x=1")
    with frozen(NOW.replace(tzinfo=None)):
        botocore.auth.SigV4Auth(Credentials(KEY_ID, SECRET), "sts", "us-east-1").add_auth(request)
    verify(to_signing_request(request), lookup, now=NOW, expected_service="sts")


def test_verify_accepts_a_matching_x_amz_content_sha256() -> None:
    request = signed(with_header(unsigned(), "x-amz-content-sha256",
                                 hashlib.sha256(BODY).hexdigest()))
    verify(request, lookup, now=NOW, expected_service="sts")


def test_verify_uses_the_key_cache() -> None:
    cache = SigningKeyCache(maxsize=8)
    for _ in range(3):
        verify(signed(), lookup, now=NOW, expected_service="sts", key_cache=cache)
    assert len(cache) == 1


def test_verify_lets_lookup_errors_through() -> None:
    def expired(access_key_id: str, session_token: str | None) -> Credential | None:
        raise AuthenticationError("expired-token", "The security token included in the "
                                                   "request is expired")

    with pytest.raises(AuthenticationError) as info:
        verify(signed(token="old"), expired, now=NOW, expected_service="sts")
    assert info.value.kind == "expired-token"


# ------------------------------------------------------------------------- missing


@pytest.mark.parametrize("authorization", [None, "Bearer abc", "AWS AKID:sig", ""])
def test_no_aws4_signature_is_missing(authorization: str | None) -> None:
    error = refusal(with_header(unsigned(), "authorization", authorization))
    assert error.kind == "missing"
    assert error.message == "Missing Authentication Token"


# ---------------------------------------------------------------------- incomplete


def test_authorization_without_signature_or_date_is_incomplete() -> None:
    value = (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20240101/us-east-1/sts/aws4_request, "
             "SignedHeaders=host")
    error = refusal(with_header(unsigned(), "authorization", value))
    assert error.kind == "incomplete"
    assert error.message == (
        "Authorization header requires 'Signature' parameter. Authorization header requires "
        "existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={value}")


def test_malformed_x_amz_date_is_incomplete() -> None:
    error = refusal(with_header(signed(), "x-amz-date", "2024-01-01T00:10:00Z"))
    assert error.kind == "incomplete"
    assert error.message.startswith("Date must be in ISO-8601 'basic format'. "
                                    "Got '2024-01-01T00:10:00Z'.")


def test_unsupported_algorithm_is_incomplete() -> None:
    request = signed()
    value = authz(request).replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
    error = refusal(with_header(request, "authorization", value))
    assert error.kind == "incomplete"
    assert error.message == ("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' "
                             "(only AWS4-HMAC-SHA256 for now).")


def test_x509_algorithm_is_not_accepted_by_the_hmac_verifier() -> None:
    request = signed()
    value = authz(request).replace("AWS4-HMAC-SHA256", "AWS4-X509-RSA-SHA256")
    assert refusal(with_header(request, "authorization", value)).kind == "incomplete"


def test_two_authorization_headers_are_incomplete() -> None:
    request = signed()
    twice = replace(request, headers=[*request.headers, ("authorization", authz(request))])
    assert refusal(twice).kind == "incomplete"


def test_header_and_presigned_signature_together_are_incomplete() -> None:
    request = replace(signed(), raw_query="X-Amz-Algorithm=AWS4-HMAC-SHA256")
    error = refusal(request)
    assert error.kind == "incomplete"
    assert "Only one auth mechanism allowed" in error.message


def test_partial_presigned_query_is_incomplete() -> None:
    request = SigningRequest("GET", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&Action=Get",
                             [("host", "h")])
    error = refusal(request)
    assert error.kind == "incomplete"
    assert error.message.endswith("Re-examine the query-string parameters.")


def test_signed_header_absent_from_request_is_incomplete() -> None:
    request = signed()
    error = refusal(with_header(request, "content-type", None))
    assert error.kind == "incomplete"
    assert error.message == "Header 'content-type' is in SignedHeaders but not in the request."


# ------------------------------------------------------------------------ signature


def test_host_must_be_signed() -> None:
    request = signed()
    value = authz(request).replace("content-type;host;x-amz-date", "content-type;x-amz-date")
    error = refusal(with_header(request, "authorization", value))
    assert error.kind == "signature"
    assert error.message == "'Host' must be a 'SignedHeader' in the AWS Authorization."


def test_x_amz_content_sha256_must_match_the_body() -> None:
    request = signed(with_header(unsigned(), "x-amz-content-sha256", "UNSIGNED-PAYLOAD"))
    error = refusal(request)
    assert error.kind == "signature"
    assert error.message == ("The provided 'x-amz-content-sha256' header does not match what "
                             "was computed.")


def test_signature_mismatch_reports_canonical_forms_but_no_secret_or_signature() -> None:
    request = signed()
    error = refusal(replace(request, body=BODY + b"&x=1"))
    assert error.kind == "signature"
    expected_signature = authz(signed(replace(request, body=BODY + b"&x=1"))).rpartition("=")[2]
    for secret in (SECRET, expected_signature):
        assert secret not in error.message
        assert secret not in error.canonical_request  # type: ignore[attr-defined]
        assert secret not in error.string_to_sign  # type: ignore[attr-defined]
    sts: str = error.string_to_sign  # type: ignore[attr-defined]
    assert sts.startswith("AWS4-HMAC-SHA256\n20240101T001000Z\n")


# ---------------------------------------------------------------------------- scope


def test_scope_errors_are_listed_together_in_aws_words() -> None:
    request = signed(service="iam", region="eu-west-1")
    value = authz(request).replace("/aws4_request", "/aws5_request").replace(
        "/20240101/", "/20231231/")
    error = refusal(with_header(request, "authorization", value), expected_service="sts",
                    expected_region="us-east-1")
    assert error.kind == "scope"
    assert error.message == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'sts'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not "
        "'aws5_request'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20231231' != '20240101', from '20240101T001000Z'.")


def test_any_service_is_accepted_when_none_is_expected() -> None:
    result = verify(signed(service="rolesanywhere", region="ap-south-2"), lookup, now=NOW,
                    expected_service=None)
    assert (result.service, result.region) == ("rolesanywhere", "ap-south-2")


# ---------------------------------------------------------------------- unknown key


def test_unknown_access_key() -> None:
    request = signed()
    error = refusal(with_header(request, "authorization",
                                authz(request).replace(KEY_ID, "AKIDOTHER")))
    assert error.kind == "unknown-key"


# ----------------------------------------------------------------- reading, routing


def test_read_signed_request_serves_the_x509_variant() -> None:
    request = SigningRequest(
        "POST", "/sessions", "", [
            ("host", "rolesanywhere.us-east-1.amazonaws.com"),
            ("content-type", "application/json"), ("x-amz-date", "20240101T001000Z"),
            ("x-amz-x509", "MIIB"),
            ("authorization", "AWS4-X509-ECDSA-SHA256 Credential=1234567890/20240101/"
                              "us-east-1/rolesanywhere/aws4_request, "
                              "SignedHeaders=content-type;host;x-amz-date;x-amz-x509, "
                              "Signature=3045")], b"{}")
    result = read_signed_request(request, now=NOW, expected_service="rolesanywhere",
                                 algorithms={"AWS4-X509-ECDSA-SHA256", "AWS4-X509-RSA-SHA256"})
    assert result.authorization.credential == "1234567890"
    (sts,) = result.strings_to_sign
    assert sts.startswith("AWS4-X509-ECDSA-SHA256\n20240101T001000Z\n"
                          "20240101/us-east-1/rolesanywhere/aws4_request\n")


def test_service_and_region_of_reads_the_scope_without_verifying() -> None:
    assert service_and_region_of(signed(service="iam", region="eu-west-1")) == ("iam",
                                                                                "eu-west-1")
    presigned = SigningRequest(
        "GET", "/", "Action=X&X-Amz-Credential=AKID%2F20240101%2Fus-east-2%2Fsts%2Faws4_request",
        [("host", "h")])
    assert service_and_region_of(presigned) == ("sts", "us-east-2")
    assert service_and_region_of(unsigned()) is None
    assert service_and_region_of(with_header(unsigned(), "authorization",
                                             "AWS4-HMAC-SHA256 Credential=a/b")) is None


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError):
        verify(signed(), lookup, now=NOW.replace(tzinfo=None), expected_service="sts")
