"""The X.509 SigV4 variant: golden canonical requests and strings to sign (written by
botocore, as iam-rolesanywhere-session computes them), our signer and verifier round
trip on every client shape, and each leniency, reported when lenient and refused when
strict."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from roleport.auth.sigv4 import (
    canonical_request,
    format_authorization,
    parse_amz_date,
    payload_hash,
    signable_header_names,
    string_to_sign,
)
from roleport.auth.verifier import SigningRequest, read_signed_request
from roleport.auth.x509 import (
    LABELLED_ALGORITHMS,
    STANDARD_ALGORITHMS,
    read_x509_request,
    sign_x509_request,
)
from roleport.crypto import devpki
from roleport.crypto.keys import mldsa_available
from roleport.errors import AuthenticationError

from . import make_x509_golden as golden_maker
from .test_golden import read_request

SUITE = Path(__file__).parent / "x509_testsuite"
NAMES = sorted(p.stem for p in SUITE.glob("*.req"))
NOW = golden_maker.SIGNED_AT.replace(tzinfo=UTC)
CASES = {case.name: case for case in golden_maker.CASES}


def golden(name: str, ext: str) -> str:
    return (SUITE / f"{name}{ext}").read_text(encoding="utf-8")


def with_authorization(request: SigningRequest, name: str) -> SigningRequest:
    case = CASES[name]
    date = dict(request.headers)["x-amz-date"]
    scope = f"{date[:8]}/{case.region}/rolesanywhere/aws4_request"
    header = format_authorization(case.algorithm, golden_maker.SERIAL, scope,
                                  signable_header_names(request.headers), "00" * 64)
    return replace(request, headers=[*request.headers, ("authorization", header)])


def test_suite_covers_every_client_shape() -> None:
    assert len(NAMES) >= 10
    assert set(NAMES) == set(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_canonical_request_and_string_to_sign_match_the_golden_files(name: str) -> None:
    request = read_request(SUITE / f"{name}.req")
    signed = signable_header_names(request.headers)
    creq = canonical_request(request.method, request.raw_path, request.raw_query,
                             request.headers, signed, payload_hash(request.body), drop=())
    assert creq == golden(name, ".creq")
    date = parse_amz_date(dict(request.headers)["x-amz-date"]).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{date[:8]}/{CASES[name].region}/rolesanywhere/aws4_request"
    assert string_to_sign(CASES[name].algorithm, date, scope, creq) == golden(name, ".sts")


@pytest.mark.parametrize("name", NAMES)
def test_server_reads_the_golden_canonical_request(name: str) -> None:
    request = with_authorization(read_request(SUITE / f"{name}.req"), name)
    signed = read_signed_request(request, now=NOW, expected_service="rolesanywhere",
                                 algorithms=STANDARD_ALGORITHMS + LABELLED_ALGORITHMS)
    assert signed.canonical_requests[0] == golden(name, ".creq")
    assert signed.strings_to_sign[0] == golden(name, ".sts")


@pytest.mark.parametrize("case", golden_maker.CASES, ids=lambda c: c.name)
def test_committed_files_are_what_botocore_produces_today(case: golden_maker.Case) -> None:
    for ext, data in golden_maker.render(case).items():
        assert (SUITE / f"{case.name}{ext}").read_bytes() == data, (
            f"{case.name}{ext} is stale: rerun tests/unit/auth/make_x509_golden.py")


# -- signing and verifying each shape with a real key --------------------------------------


@pytest.fixture(scope="module")
def leaves() -> dict[str, devpki.IssuedCertificate]:
    root = devpki.create_root_ca("X509 Test Root")
    out = {"EC": devpki.issue_leaf(root, "ec-leaf"),
           "RSA": devpki.issue_leaf(root, "rsa-leaf", key_type="rsa"),
           "EC384": devpki.issue_leaf(root, "labelled", hash="sha384")}
    if mldsa_available():
        mldsa_root = devpki.create_root_ca("ML-DSA Root", key_type="mldsa")
        out["ML-DSA"] = devpki.issue_leaf(mldsa_root, "pq-leaf", key_type="mldsa")
    return out


def _leaf_for(algorithm: str, leaves: dict) -> devpki.IssuedCertificate:
    if algorithm.endswith("SHA384"):
        return leaves["EC384"]
    family = algorithm.split("-")[2]
    key = {"RSA": "RSA", "ECDSA": "EC", "MLDSA": "ML-DSA"}[family]
    if key not in leaves:
        pytest.fail("this cryptography has no ML-DSA, yet pyproject's pin promises it")
    return leaves[key]


@pytest.mark.parametrize("name", NAMES)
def test_every_client_shape_signs_and_verifies(name: str, leaves: dict) -> None:
    case = CASES[name]
    leaf = _leaf_for(case.algorithm, leaves)
    request = read_request(SUITE / f"{name}.req")
    kept = [(n, v) for n, v in request.headers if n not in ("x-amz-date", "x-amz-x509",
                                                             "x-amz-x509-chain")]
    chain = [leaf.certificate] if any(n == "x-amz-x509-chain" for n, _ in request.headers) \
        else []  # a leaf copy in the chain: what PKCS#12 and fullchain clients send
    signed = sign_x509_request(replace(request, headers=kept), certificate=leaf.certificate,
                               sign=leaf.key.sign, region=case.region, now=NOW, chain=chain,
                               algorithm=case.algorithm)
    used = read_x509_request(signed).verify(now=NOW)
    assert used == ({"algorithm-label"} if case.algorithm in LABELLED_ALGORITHMS else set())


# -- leniencies and refusals -----------------------------------------------------------------


@pytest.fixture()
def base() -> SigningRequest:
    return SigningRequest("POST", "/sessions", "", [("host", "roleport.test"),
                                                     ("content-type", "application/json")],
                          b'{"durationSeconds":3600}')


def sign(base: SigningRequest, leaf: devpki.IssuedCertificate, **kw) -> SigningRequest:
    return sign_x509_request(base, certificate=leaf.certificate, sign=kw.pop("signer",
                             leaf.key.sign), region="us-east-1", now=NOW, **kw)


def test_unsigned_certificate_header_is_lenient_only(base: SigningRequest, leaves: dict) -> None:
    request = sign(base, leaves["EC"], signed_headers=["content-type", "host", "x-amz-date"])
    assert read_x509_request(request).verify(now=NOW) == {"unsigned-certificate-header"}
    with pytest.raises(AuthenticationError, match="not in SignedHeaders"):
        read_x509_request(request, lenient=False).verify(now=NOW)


def test_hex_serial_is_lenient_only(base: SigningRequest, leaves: dict) -> None:
    leaf = leaves["EC"]
    request = sign(base, leaf, credential=hex(leaf.certificate.serial))
    assert read_x509_request(request).verify(now=NOW) == {"hex-serial"}
    with pytest.raises(AuthenticationError, match="decimal serial"):
        read_x509_request(request, lenient=False).verify(now=NOW)


def test_chunked_body_is_no_leniency_even_in_strict_mode(base: SigningRequest,
                                                        leaves: dict) -> None:
    # the official Go helper up to v1.4 sends every body chunked, and AWS accepts it
    chunked = replace(base, headers=[*base.headers, ("transfer-encoding", "chunked")])
    request = sign(chunked, leaves["RSA"])
    assert read_x509_request(request).verify(now=NOW) == set()
    assert read_x509_request(request, lenient=False).verify(now=NOW) == set()


def test_base64_with_line_breaks_is_lenient_only(base: SigningRequest, leaves: dict) -> None:
    leaf = leaves["EC"]
    request = sign(base, leaf)
    text = leaf.certificate.der_base64
    wrapped = text[:64] + "\n" + text[64:].rstrip("=")  # a PEM line break, padding lost
    odd = replace(request, headers=[(n, wrapped if n == "x-amz-x509" else v)
                                    for n, v in request.headers])
    presented = read_x509_request(odd)
    assert presented.certificate == leaf.certificate
    assert presented.leniencies == {"base64-whitespace"}
    strict = read_x509_request(odd, lenient=False)
    assert strict.certificate is None and "base64" in (strict.certificate_problem or "")


def test_clock_skew_is_its_own_kind(base: SigningRequest, leaves: dict) -> None:
    request = sign(base, leaves["EC"])
    with pytest.raises(AuthenticationError) as info:
        read_x509_request(request).verify(now=NOW + timedelta(minutes=6))
    assert info.value.kind == "expired-signature"
    assert read_x509_request(request).verify(now=NOW + timedelta(minutes=4)) == set()


def test_tampered_body_does_not_verify(base: SigningRequest, leaves: dict) -> None:
    request = replace(sign(base, leaves["EC"]), body=b'{"durationSeconds":43200}')
    with pytest.raises(AuthenticationError, match="does not verify") as info:
        read_x509_request(request).verify(now=NOW)
    assert info.value.kind == "signature"


def test_wrong_service_in_scope_is_refused(base: SigningRequest, leaves: dict) -> None:
    request = sign(base, leaves["EC"])
    headers = [(n, v.replace("/rolesanywhere/", "/sts/") if n == "authorization" else v)
               for n, v in request.headers]
    with pytest.raises(AuthenticationError, match="service"):
        read_x509_request(replace(request, headers=headers)).verify(now=NOW)


def test_unreadable_authorization_is_refused_at_once(base: SigningRequest) -> None:
    bad = replace(base, headers=[*base.headers, ("authorization", "AWS4-X509-RSA-SHA256 junk")])
    with pytest.raises(AuthenticationError):
        read_x509_request(bad)
