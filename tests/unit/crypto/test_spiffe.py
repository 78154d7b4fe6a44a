"""SPIFFE IDs, X.509-SVID rules and SPIFFE bundle parsing (roleport.crypto.spiffe)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roleport.crypto import devpki
from roleport.crypto.errors import CertificateError
from roleport.crypto.spiffe import (
    BundleError,
    SpiffeId,
    check_x509_svid,
    parse_bundle,
    parse_spiffe_id,
)
from tests.e2e.spiffe_support import bundle, spire_ca, svid


@pytest.fixture(scope="module")
def ca():
    return spire_ca("example.org")


@pytest.mark.parametrize(("uri", "expected"), [
    ("spiffe://example.org/ns/prod/sa/web", SpiffeId("example.org", "/ns/prod/sa/web")),
    ("spiffe://example.org", SpiffeId("example.org", "")),
    ("spiffe://a_b-c.d/X.y-z_1", SpiffeId("a_b-c.d", "/X.y-z_1")),
])
def test_valid_spiffe_ids(uri, expected) -> None:
    assert parse_spiffe_id(uri) == expected
    assert str(expected) == uri


@pytest.mark.parametrize(("uri", "words"), [
    ("https://example.org/x", "is not a SPIFFE ID"),
    ("spiffe://Example.org/x", "lower-case"),
    ("spiffe://example.org:8080/x", "no port or user info"),
    ("spiffe://user@example.org/x", "no port or user info"),
    ("spiffe:///x", "trust domain ''"),
    ("spiffe://example.org/", "must not end with '/'"),
    ("spiffe://example.org/a//b", "segment ''"),
    ("spiffe://example.org/a/./b", "segment '.'"),
    ("spiffe://example.org/a/%20", "segment '%20'"),
    ("spiffe://example.org/a?b", "no query or fragment"),
    ("spiffe://example.org/" + "a" * 2100, "longer than 2048"),
])
def test_invalid_spiffe_ids(uri, words) -> None:
    with pytest.raises(CertificateError, match=words.replace("?", r"\?")):
        parse_spiffe_id(uri)


@given(st.text(max_size=60))
def test_parse_spiffe_id_only_raises_certificate_error(text) -> None:
    try:
        parsed = parse_spiffe_id("spiffe://" + text)
    except CertificateError:
        return
    assert str(parsed) == "spiffe://" + text


def test_svid_rules(ca) -> None:
    good = svid(ca, "spiffe://example.org/web")
    assert good.certificate.subject_is_empty
    assert check_x509_svid(good.certificate, "example.org") == SpiffeId("example.org", "/web")
    with pytest.raises(CertificateError, match="not of trust domain"):
        check_x509_svid(good.certificate, "other.org")
    signer = svid(ca, "spiffe://example.org/x", key_usage={"digital_signature", "crl_sign"})
    with pytest.raises(CertificateError, match="must not include keyCertSign or cRLSign"):
        check_x509_svid(signer.certificate, "example.org")
    with pytest.raises(CertificateError, match="must not be a CA"):
        check_x509_svid(devpki.issue_leaf(ca, None, sans=["URI:spiffe://example.org/c"],
                                          is_ca=True).certificate, "example.org")


def test_bundle_authorities_hint_and_sequence(ca) -> None:
    other = spire_ca("example.org", "SPIRE CA 2")
    parsed = parse_bundle(bundle(ca, other, refresh_hint=60, sequence=7))
    assert parsed.authorities == (ca.certificate, other.certificate)
    assert (parsed.refresh_hint, parsed.sequence) == (60, 7)
    assert parsed.pem == ca.cert_pem + other.cert_pem
    assert parse_bundle(bundle(ca, refresh_hint=None)).refresh_hint is None


def _doc(**fields) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(("data", "words"), [
    (b"{not json", "not JSON"),
    (_doc(keys="x"), "not a JWK set"),
    (b"[]", "not a JWK set"),
    (_doc(keys=[{"use": "jwt-svid", "kty": "EC"}]), "has no x509-svid key"),
    (_doc(keys=[{"use": "x509-svid", "x5c": []}]), "exactly one x5c"),
    (_doc(keys=[{"use": "x509-svid", "x5c": ["a", "b"]}]), "exactly one x5c"),
    (_doc(keys=[{"use": "x509-svid", "x5c": ["***"]}]), "not base64"),
    (_doc(keys=[{"use": "x509-svid", "x5c": [base64.b64encode(b"junk").decode()]}]),
     "could not be parsed"),
])
def test_bad_bundles(data, words) -> None:
    with pytest.raises(BundleError, match=words):
        parse_bundle(data)


def test_bundle_refuses_a_leaf_as_authority_and_a_bad_hint(ca) -> None:
    leaf = svid(ca, "spiffe://example.org/web")
    with pytest.raises(BundleError, match="cannot be an authority"):
        parse_bundle(bundle(leaf))
    document = json.loads(bundle(ca))
    document["spiffe_refresh_hint"] = "soon"
    with pytest.raises(BundleError, match="spiffe_refresh_hint must be a non-negative"):
        parse_bundle(json.dumps(document).encode())
