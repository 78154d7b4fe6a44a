"""Each SigV4 step alone: canonicalization, parsing, dates, keys."""

from __future__ import annotations

import datetime as dt
import hashlib

import botocore.auth
import pytest
from botocore.compat import urlsplit

from roleport.auth.sigv4 import (
    EMPTY_PAYLOAD_HASH,
    CredentialScope,
    SigningKeyCache,
    botocore_query_string,
    canonical_headers,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    format_amz_date,
    parse_amz_date,
    parse_authorization,
    parse_presigned,
    parse_query,
    payload_hash,
    signing_key,
    string_to_sign,
)
from roleport.errors import AuthenticationError

AUTHZ = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, "
         "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


def _botocore_uri(path: str) -> str:
    return botocore.auth.SigV4Auth(None, "s", "r")._normalize_url_path(path)


# ------------------------------------------------------------------------- canonical URI


@pytest.mark.parametrize("path", [
    "/trustanchor/arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Atrust-anchor%2Fx",
    "/", "", "//a//b//", "/a/./b/../../c", "/../..", "/a b/ü", "/~user/-_.", "/%7E", "a/b",
])
def test_canonical_uri_matches_botocore(path: str) -> None:
    assert canonical_uri(path) == _botocore_uri(path or "/")


def test_canonical_uri_encodes_the_received_encoding_again() -> None:
    assert canonical_uri("/trustanchor/arn%3Aaws%3Ax") == "/trustanchor/arn%253Aaws%253Ax"


def test_canonical_uri_accepts_raw_bytes() -> None:
    assert canonical_uri(b"/caf\xc3\xa9/\xff") == "/caf%C3%A9/%FF"


def test_canonical_uri_s3_rule_keeps_the_path_as_received() -> None:
    assert canonical_uri("/a/../b%3A", double_encode=False) == "/a/../b%3A"
    assert canonical_uri("", double_encode=False) == "/"


# ----------------------------------------------------------------------- canonical query


@pytest.mark.parametrize(("raw", "expected"), [
    ("", ""),
    ("b=2&a=1", "a=1&b=2"),
    ("a=2&a=1&A=3", "A=3&a=1&a=2"),
    ("a=b+c", "a=b%20c"),
    ("a=b%2fc", "a=b%2Fc"),
    ("a=b/c:d", "a=b%2Fc%3Ad"),
    ("a=%7E-_.~", "a=~-_.~"),
    ("a&b=", "a=&b="),
    ("a=1&&b=2", "a=1&b=2"),
    ("k=a%3Db", "k=a%3Db"),
    ("%E2%82%AC=%C3%A9", "%E2%82%AC=%C3%A9"),
    ("a=%FF", "a=%FF"),
])
def test_canonical_query_string_decodes_then_encodes_per_rfc3986(raw: str,
                                                                 expected: str) -> None:
    assert canonical_query_string(raw) == expected


def test_canonical_query_string_sorts_by_encoded_name_then_value() -> None:
    # "%20" sorts before letters once encoded, whatever the raw form.
    assert canonical_query_string("b=1&a+b=2&a=3") == "a=3&a%20b=2&b=1"


def test_canonical_query_string_drops_the_presigned_signature() -> None:
    raw = "X-Amz-Date=20150830T123600Z&X-Amz-Signature=abc&a=1"
    assert canonical_query_string(raw) == "X-Amz-Date=20150830T123600Z&a=1"
    assert "X-Amz-Signature=abc" in canonical_query_string(raw, drop=())


@pytest.mark.parametrize("raw", ["b=2&a=1", "a=b/c&x=y:z", "a&b=&c", "a=1&&b", ""])
def test_botocore_query_string_matches_botocore_for_urls(raw: str) -> None:
    signer = botocore.auth.SigV4Auth(None, "s", "r")
    expected = signer._canonical_query_string_url(urlsplit(f"http://h/?{raw}"))
    assert botocore_query_string(raw, drop=()) == expected


def test_parse_query_decodes_and_keeps_repeats() -> None:
    assert parse_query("a=1&a=2&b=x+y%2F&c") == {"a": ["1", "2"], "b": ["x y/"], "c": [""]}


# ------------------------------------------------------------------------------ headers


def test_canonical_headers_trims_joins_repeats_and_matches_names_case_insensitively() -> None:
    headers = [("Host", "h"), ("My-Header", "  a   b "), ("x", "unsigned"),
               ("my-header", "\tc\t"), ("X-Amz-Date", "20150830T123600Z")]
    assert canonical_headers(headers, ["host", "my-header", "x-amz-date"]) == (
        "host:h\nmy-header:a b,c\nx-amz-date:20150830T123600Z\n")


def test_canonical_request_has_six_lines_with_blank_line_after_headers() -> None:
    creq = canonical_request("post", "/sessions", "", [("host", "h"), ("content-type", "x")],
                             ["content-type", "host"], EMPTY_PAYLOAD_HASH)
    assert creq == ("POST\n/sessions\n\ncontent-type:x\nhost:h\n\ncontent-type;host\n"
                    + EMPTY_PAYLOAD_HASH)


def test_x509_create_session_example_canonicalizes_as_documented() -> None:
    # aws-behaviour.md Appendix C, with the real body hash.
    body = b'{"durationSeconds": 3600}'
    headers = [("host", "rolesanywhere.us-east-1.amazonaws.com"),
               ("content-type", "application/json"), ("x-amz-date", "20211103T120000Z"),
               ("x-amz-x509", "MIIB")]
    signed = ["content-type", "host", "x-amz-date", "x-amz-x509"]
    creq = canonical_request("POST", "/sessions", "", headers, signed, payload_hash(body))
    assert creq == (
        "POST\n/sessions\n\ncontent-type:application/json\n"
        "host:rolesanywhere.us-east-1.amazonaws.com\nx-amz-date:20211103T120000Z\n"
        "x-amz-x509:MIIB\n\ncontent-type;host;x-amz-date;x-amz-x509\n"
        + hashlib.sha256(body).hexdigest())
    scope = CredentialScope("20211103", "us-east-1", "rolesanywhere")
    assert string_to_sign("AWS4-X509-RSA-SHA256", "20211103T120000Z", scope, creq) == (
        "AWS4-X509-RSA-SHA256\n20211103T120000Z\n"
        "20211103/us-east-1/rolesanywhere/aws4_request\n"
        + hashlib.sha256(creq.encode()).hexdigest())


def test_payload_hash_of_empty_body() -> None:
    assert payload_hash(b"") == EMPTY_PAYLOAD_HASH == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


# ---------------------------------------------------------------------------- keys


def test_signing_key_matches_the_aws_documented_example() -> None:
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_signing_key_cache_returns_derived_keys_and_evicts_least_recently_used() -> None:
    cache = SigningKeyCache(maxsize=2)
    first = cache.get("s1", "20240101", "us-east-1", "sts")
    assert first == signing_key("s1", "20240101", "us-east-1", "sts")
    cache.get("s2", "20240101", "us-east-1", "sts")
    cache.get("s1", "20240101", "us-east-1", "sts")         # s1 is now the most recent
    cache.get("s3", "20240101", "us-east-1", "sts")         # evicts s2
    assert len(cache) == 2
    assert cache.get("s2", "20240101", "us-east-1", "sts") == signing_key(
        "s2", "20240101", "us-east-1", "sts")


def test_signing_key_cache_does_not_keep_the_secret() -> None:
    cache = SigningKeyCache()
    cache.get("very-secret", "20240101", "us-east-1", "sts")
    assert b"very-secret" not in b"".join(cache._entries)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("value", [
    "20240101T000500Z",
    "Mon, 01 Jan 2024 00:05:00 GMT",
    "Mon, 01 Jan 2024 00:05:00 -0000",
    "Mon, 01 Jan 2024 01:05:00 +0100",
    "Monday, 01-Jan-24 00:05:00 GMT",
    "Mon Jan  1 00:05:00 2024",
])
def test_parse_amz_date_accepts_basic_iso8601_and_http_dates(value: str) -> None:
    assert parse_amz_date(value) == dt.datetime(2024, 1, 1, 0, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("value", ["2024-01-01T00:05:00Z", "20240101T0005Z", "",
                                   "20241301T000000Z", "yesterday"])
def test_parse_amz_date_refuses_other_forms_in_aws_words(value: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        parse_amz_date(value)
    assert info.value.kind == "incomplete"
    assert info.value.message == (f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
                                  "See http://en.wikipedia.org/wiki/ISO_8601")


def test_parse_amz_date_strict_mode_refuses_http_dates() -> None:
    with pytest.raises(AuthenticationError):
        parse_amz_date("Mon, 01 Jan 2024 00:05:00 GMT", allow_http_date=False)


def test_format_amz_date_converts_to_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert format_amz_date(dt.datetime(2024, 1, 1, 1, 5, tzinfo=paris)) == "20240101T000500Z"


# --------------------------------------------------------------------- authorization


@pytest.mark.parametrize("value", [
    AUTHZ,
    AUTHZ.replace(", ", ","),
    AUTHZ.replace(", ", " ,  ").replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256   "),
    AUTHZ.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256\t"),
    "AWS4-HMAC-SHA256 Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7,"
    " SignedHeaders=content-type;host;x-amz-date,"
    " Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request",
    f"  {AUTHZ}  ",
])
def test_parse_authorization_tolerates_separators_spaces_and_order(value: str) -> None:
    auth = parse_authorization(value)
    assert auth.algorithm == "AWS4-HMAC-SHA256"
    assert auth.credential == "AKIDEXAMPLE"
    assert auth.scope == CredentialScope("20150830", "us-east-1", "iam", "aws4_request")
    assert auth.signed_headers == ["content-type", "host", "x-amz-date"]
    assert auth.signature.startswith("5d672d79")
    assert auth.header_value() == AUTHZ


def test_parse_authorization_reads_the_x509_variant() -> None:
    auth = parse_authorization(
        "AWS4-X509-ECDSA-SHA256 Credential=85968058272638546416180/20261123/eu-west-1/"
        "rolesanywhere/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509, "
        "Signature=3045022100ab")
    assert (auth.algorithm, auth.credential) == ("AWS4-X509-ECDSA-SHA256",
                                                 "85968058272638546416180")
    assert str(auth.scope) == "20261123/eu-west-1/rolesanywhere/aws4_request"


def test_parse_authorization_names_every_missing_parameter_as_aws_does() -> None:
    value = "AWS4-HMAC-SHA256 SignedHeaders=host"
    with pytest.raises(AuthenticationError) as info:
        parse_authorization(value, date_present=False)
    assert info.value.kind == "incomplete"
    assert info.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={value}")


def test_parse_authorization_treats_empty_values_as_missing() -> None:
    with pytest.raises(AuthenticationError, match="requires 'Signature' parameter"):
        parse_authorization(AUTHZ.split("Signature=")[0] + "Signature=")


def test_parse_authorization_refuses_a_pair_without_equal_sign() -> None:
    value = "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=ab"
    with pytest.raises(AuthenticationError) as info:
        parse_authorization(value)
    assert info.value.message == (
        "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: "
        f"'{value}'.")


def test_parse_authorization_refuses_a_short_credential() -> None:
    with pytest.raises(AuthenticationError) as info:
        parse_authorization("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, "
                            "Signature=ab")
    assert info.value.kind == "incomplete"
    assert info.value.message == ("Credential must have exactly 5 slash-delimited elements, "
                                  "e.g. keyid/date/region/service/term, got 'a/b/c/d'")


# -------------------------------------------------------------------------- presigned

PRESIGNED = {
    "X-Amz-Algorithm": ["AWS4-HMAC-SHA256"],
    "X-Amz-Credential": ["AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request"],
    "X-Amz-Date": ["20150830T123600Z"],
    "X-Amz-Expires": ["900"],
    "X-Amz-SignedHeaders": ["host"],
    "X-Amz-Signature": ["abc"],
    "X-Amz-Security-Token": ["tok"],
}


def test_parse_presigned_reads_every_parameter() -> None:
    auth = parse_presigned(PRESIGNED)
    assert auth is not None and auth.presigned
    assert (auth.credential, auth.scope.service, auth.signed_headers, auth.signature) == (
        "AKIDEXAMPLE", "sts", ["host"], "abc")
    assert (auth.amz_date, auth.expires, auth.security_token) == ("20150830T123600Z", 900, "tok")


def test_parse_presigned_returns_none_without_signature_parameters() -> None:
    assert parse_presigned({"Action": ["GetCallerIdentity"], "X-Amz-Date": ["x"]}) is None


def test_parse_presigned_names_every_missing_parameter() -> None:
    with pytest.raises(AuthenticationError) as info:
        parse_presigned({"X-Amz-Algorithm": ["AWS4-HMAC-SHA256"], "X-Amz-Date": ["x"]})
    assert info.value.kind == "incomplete"
    assert info.value.message == (
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "Re-examine the query-string parameters.")


@pytest.mark.parametrize("expires", ["0", "604801", "-1", "1.5", "soon"])
def test_parse_presigned_refuses_bad_expiry(expires: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        parse_presigned({**PRESIGNED, "X-Amz-Expires": [expires]})
    assert info.value.kind == "incomplete"
    assert "X-Amz-Expires" in info.value.message


def test_parse_presigned_refuses_repeated_parameters() -> None:
    with pytest.raises(AuthenticationError, match="must appear only once"):
        parse_presigned({**PRESIGNED, "X-Amz-Signature": ["a", "b"]})
