"""Our SigV4 steps reproduce, file by file, what botocore's signer wrote in aws4_testsuite/."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import pytest

from roleport.auth.sigv4 import (
    HMAC_ALGORITHM,
    canonical_request,
    hmac_signature,
    parse_amz_date,
    parse_authorization,
    payload_hash,
    signable_header_names,
    signing_key,
    string_to_sign,
)
from roleport.auth.verifier import Credential, SigningRequest, sign_request, verify

from . import make_golden

SUITE = Path(__file__).parent / "aws4_testsuite"
NAMES = sorted(p.stem for p in SUITE.glob("*.req"))
NOW = make_golden.SIGNED_AT.replace(tzinfo=timezone.utc)


def read_request(path: Path) -> SigningRequest:
    """Parse a golden ``.req``/``.sreq`` file (LF line ends, header values kept verbatim)."""
    head, _, body = path.read_bytes().partition(b"\n\n")
    request_line, *header_lines = head.decode("utf-8").split("\n")
    method, rest = request_line.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    raw_path, _, raw_query = target.partition("?")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.lower(), value))
    return SigningRequest(method, raw_path, raw_query, headers, body)


def golden(name: str, ext: str) -> str:
    return (SUITE / f"{name}{ext}").read_text(encoding="utf-8")


def amz_date_of(request: SigningRequest) -> str:
    values = dict(request.headers)
    if "x-amz-date" in values:
        return values["x-amz-date"]
    return parse_amz_date(values["date"]).strftime("%Y%m%dT%H%M%SZ")


def lookup(access_key_id: str, session_token: str | None) -> Credential | None:
    if access_key_id != make_golden.ACCESS_KEY:
        return None
    return Credential(make_golden.SECRET_KEY, identity="example")


def test_suite_is_not_empty() -> None:
    assert len(NAMES) >= 30


@pytest.mark.parametrize("name", NAMES)
def test_canonical_request_matches_botocore(name: str) -> None:
    request = read_request(SUITE / f"{name}.req")
    signed = signable_header_names(request.headers)
    assert canonical_request(request.method, request.raw_path, request.raw_query,
                             request.headers, signed, payload_hash(request.body),
                             drop=()) == golden(name, ".creq")


@pytest.mark.parametrize("name", NAMES)
def test_string_to_sign_and_signature_match_botocore(name: str) -> None:
    request = read_request(SUITE / f"{name}.req")
    auth = parse_authorization(golden(name, ".authz"))
    sts = string_to_sign(HMAC_ALGORITHM, amz_date_of(request), auth.scope, golden(name, ".creq"))
    assert sts == golden(name, ".sts")
    key = signing_key(make_golden.SECRET_KEY, auth.scope.date, auth.scope.region,
                      auth.scope.service)
    assert hmac_signature(key, sts) == auth.signature
    assert auth.header_value() == golden(name, ".authz")


@pytest.mark.parametrize("name", NAMES)
def test_sign_request_reproduces_authorization(name: str) -> None:
    request = read_request(SUITE / f"{name}.req")
    auth = parse_authorization(golden(name, ".authz"))
    token = dict(request.headers).get("x-amz-security-token")
    signed = sign_request(request, access_key_id=make_golden.ACCESS_KEY,
                          secret_access_key=make_golden.SECRET_KEY, region=auth.scope.region,
                          service=auth.scope.service, now=NOW, session_token=token)
    assert dict(signed.headers)["authorization"] == golden(name, ".authz")


@pytest.mark.parametrize("name", NAMES)
def test_verify_accepts_golden_signed_request(name: str) -> None:
    request = read_request(SUITE / f"{name}.sreq")
    result = verify(request, lookup, now=NOW, expected_service=None)
    assert result.identity == "example"
    assert result.access_key_id == make_golden.ACCESS_KEY


@pytest.mark.parametrize("case", make_golden.CASES, ids=lambda c: c.name)
def test_committed_files_are_what_botocore_produces_today(case: make_golden.Case) -> None:
    for ext, data in make_golden.render(case).items():
        assert (SUITE / f"{case.name}{ext}").read_bytes() == data, (
            f"{case.name}{ext} is stale: rerun tests/unit/auth/make_golden.py")
