from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.crypto import devpki
from roleport.crypto.devpki import IssuedCertificate
from roleport.crypto.errors import SignatureError
from roleport.crypto.signatures import LENIENCIES, parse_algorithm, verify_request_signature

from .conftest import KEY_TYPES, Pki

STS = (b"AWS4-X509-ECDSA-SHA256\n20240101T000000Z\n20240101/us-east-1/rolesanywhere/"
       b"aws4_request\n" + b"ab" * 32)


@pytest.fixture(scope="module")
def leaves(pki: Pki) -> dict[str, IssuedCertificate]:
    return {key_type: pki.leaf(key_type) for key_type in KEY_TYPES} | {
        "ec-p384": devpki.issue_leaf(pki.ec_root, curve="secp384r1"),
        "ec-p521": devpki.issue_leaf(pki.ec_root, curve="secp521r1"),
        "mldsa-44": devpki.issue_leaf(pki.mldsa_root, key_type="mldsa",
                                      mldsa_variant="ML-DSA-44"),
        "mldsa-87": devpki.issue_leaf(pki.mldsa_root, key_type="mldsa",
                                      mldsa_variant="ML-DSA-87"),
    }


@pytest.mark.parametrize("name", ["ec", "rsa", "mldsa", "ec-p384", "ec-p521", "mldsa-44",
                                  "mldsa-87"])
@pytest.mark.parametrize("lenient", [True, False])
def test_standard_signature_verifies_without_leniency(leaves: dict[str, IssuedCertificate],
                                                      name: str, lenient: bool) -> None:
    leaf = leaves[name]
    signature = leaf.key.sign(STS).hex()
    used = verify_request_signature(leaf.certificate, leaf.key.algorithm, STS, signature,
                                    lenient=lenient)
    assert used == set()


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_upper_case_hex_is_accepted(leaves: dict[str, IssuedCertificate], key_type: str) -> None:
    leaf = leaves[key_type]
    signature = leaf.key.sign(STS).hex().upper()
    assert verify_request_signature(leaf.certificate, leaf.key.algorithm, STS, signature,
                                    lenient=False) == set()


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_signature_over_other_data_is_refused(leaves: dict[str, IssuedCertificate],
                                              key_type: str) -> None:
    leaf = leaves[key_type]
    signature = leaf.key.sign(STS + b"x").hex()
    with pytest.raises(SignatureError, match="^signature does not verify"):
        verify_request_signature(leaf.certificate, leaf.key.algorithm, STS, signature,
                                 lenient=True)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_signature_by_another_key_is_refused(pki: Pki, leaves: dict[str, IssuedCertificate],
                                             key_type: str) -> None:
    leaf = leaves[key_type]
    other = pki.rsa_key_2 if key_type == "rsa" else devpki.issue_leaf(
        pki.root_for(key_type), key_type=key_type).key
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(leaf.certificate, leaf.key.algorithm, STS,
                                 other.sign(STS).hex(), lenient=True)


@pytest.mark.parametrize(("key_type", "algorithm"), [
    ("ec", "AWS4-X509-RSA-SHA256"), ("ec", "AWS4-X509-MLDSA"),
    ("rsa", "AWS4-X509-ECDSA-SHA256"), ("rsa", "AWS4-X509-MLDSA"),
    ("mldsa", "AWS4-X509-RSA-SHA256"), ("mldsa", "AWS4-X509-ECDSA-SHA256"),
    ("ec", "AWS4-X509-RSA-SHA384"),
])
def test_algorithm_must_fit_the_key_type(leaves: dict[str, IssuedCertificate], key_type: str,
                                         algorithm: str) -> None:
    leaf = leaves[key_type]
    with pytest.raises(SignatureError, match=f"{algorithm} does not fit the certificate's"):
        verify_request_signature(leaf.certificate, algorithm, STS, leaf.key.sign(STS).hex(),
                                 lenient=True)


@pytest.mark.parametrize("algorithm", ["AWS4-HMAC-SHA256", "AWS4-X509-EDDSA", "",
                                       "aws4-x509-rsa-sha256", "AWS4-X509-MLDSA-65"])
def test_unknown_algorithm_is_refused(leaves: dict[str, IssuedCertificate],
                                      algorithm: str) -> None:
    leaf = leaves["ec"]
    with pytest.raises(SignatureError, match="unsupported signing algorithm"):
        verify_request_signature(leaf.certificate, algorithm, STS, leaf.key.sign(STS).hex(),
                                 lenient=True)


@pytest.mark.parametrize("signature", ["", "abc", "zz", "0x1234", "12 34"])
def test_malformed_hex_is_refused(leaves: dict[str, IssuedCertificate], signature: str) -> None:
    with pytest.raises(SignatureError, match="not an even-length hexadecimal string"):
        verify_request_signature(leaves["ec"].certificate, "AWS4-X509-ECDSA-SHA256", STS,
                                 signature, lenient=True)


@pytest.mark.parametrize("salt", ["max", "digest", 0, 20])
def test_rsa_pss_is_a_leniency(leaves: dict[str, IssuedCertificate], salt: str | int) -> None:
    leaf = leaves["rsa"]
    signature = leaf.key.sign_as(STS, rsa_pss=True, pss_salt=salt).hex()
    assert verify_request_signature(leaf.certificate, "AWS4-X509-RSA-SHA256", STS, signature,
                                    lenient=True) == {"rsa-pss"}
    with pytest.raises(SignatureError, match="verifies only as rsa-pss, which strict mode"):
        verify_request_signature(leaf.certificate, "AWS4-X509-RSA-SHA256", STS, signature,
                                 lenient=False)


@pytest.mark.parametrize(("key_type", "label"), [
    ("rsa", "AWS4-X509-RSA-SHA384"), ("rsa", "AWS4-X509-RSA-SHA512"),
    ("ec", "AWS4-X509-ECDSA-SHA384"), ("ec", "AWS4-X509-ECDSA-SHA512"),
])
def test_hash_label_over_sha256_signature_is_a_leniency(leaves: dict[str, IssuedCertificate],
                                                        key_type: str, label: str) -> None:
    leaf = leaves[key_type]
    signature = leaf.key.sign(STS).hex()
    assert verify_request_signature(leaf.certificate, label, STS, signature,
                                    lenient=True) == {"algorithm-label"}
    with pytest.raises(SignatureError, match="is not a documented name"):
        verify_request_signature(leaf.certificate, label, STS, signature, lenient=False)


@pytest.mark.parametrize(("key_type", "label", "hash_name"), [
    ("rsa", "AWS4-X509-RSA-SHA384", "sha384"), ("ec", "AWS4-X509-ECDSA-SHA512", "sha512"),
])
def test_hash_label_over_that_hash_is_a_further_leniency(leaves: dict[str, IssuedCertificate],
                                                         key_type: str, label: str,
                                                         hash_name: str) -> None:
    leaf = leaves[key_type]
    signature = leaf.key.sign_as(STS, hash=hash_name).hex()
    assert verify_request_signature(leaf.certificate, label, STS, signature, lenient=True) == {
        "algorithm-label", "labelled-hash"}


def test_sha384_signature_under_the_sha256_name_is_refused(
        leaves: dict[str, IssuedCertificate]) -> None:
    leaf = leaves["ec"]
    signature = leaf.key.sign_as(STS, hash="sha384").hex()
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(leaf.certificate, "AWS4-X509-ECDSA-SHA256", STS, signature,
                                 lenient=True)


@pytest.mark.parametrize("name", ["ec", "ec-p384", "ec-p521"])
def test_raw_ecdsa_signature_is_a_leniency(leaves: dict[str, IssuedCertificate],
                                           name: str) -> None:
    leaf = leaves[name]
    signature = leaf.key.sign_as(STS, ecdsa_raw=True)
    width = (leaf.certificate.key_size + 7) // 8  # type: ignore[operator]
    assert len(signature) == 2 * width
    assert verify_request_signature(leaf.certificate, "AWS4-X509-ECDSA-SHA256", STS,
                                    signature.hex(), lenient=True) == {"ecdsa-raw"}
    with pytest.raises(SignatureError, match="verifies only as ecdsa-raw"):
        verify_request_signature(leaf.certificate, "AWS4-X509-ECDSA-SHA256", STS,
                                 signature.hex(), lenient=False)


def test_raw_ecdsa_signature_of_other_data_is_refused(leaves: dict[str, IssuedCertificate]) -> None:
    leaf = leaves["ec"]
    signature = leaf.key.sign_as(STS + b"!", ecdsa_raw=True).hex()
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(leaf.certificate, "AWS4-X509-ECDSA-SHA256", STS, signature,
                                 lenient=True)


def test_rsa_pss_under_a_hash_label_reports_both(leaves: dict[str, IssuedCertificate]) -> None:
    leaf = leaves["rsa"]
    signature = leaf.key.sign_as(STS, rsa_pss=True).hex()
    assert verify_request_signature(leaf.certificate, "AWS4-X509-RSA-SHA512", STS, signature,
                                    lenient=True) == {"algorithm-label", "rsa-pss"}


def test_reported_leniencies_are_from_the_documented_set() -> None:
    assert LENIENCIES == {"rsa-pss", "algorithm-label", "labelled-hash", "ecdsa-raw"}


def test_parse_algorithm() -> None:
    assert parse_algorithm("AWS4-X509-MLDSA") == ("ML-DSA", frozenset())
    assert parse_algorithm("AWS4-X509-RSA-SHA512") == ("RSA", frozenset({"algorithm-label"}))
    with pytest.raises(SignatureError):
        parse_algorithm("AWS4-X509-RSA-SHA512", lenient=False)


@settings(max_examples=150, deadline=None)
@given(signature=st.text(max_size=300), algorithm=st.sampled_from(
    ["AWS4-X509-RSA-SHA256", "AWS4-X509-ECDSA-SHA256", "AWS4-X509-MLDSA",
     "AWS4-X509-ECDSA-SHA384", "nonsense"]), key_type=st.sampled_from(KEY_TYPES),
    lenient=st.booleans())
def test_random_signatures_only_ever_raise_signature_error(
        leaves: dict[str, IssuedCertificate], signature: str, algorithm: str, key_type: str,
        lenient: bool) -> None:
    with pytest.raises(SignatureError):
        verify_request_signature(leaves[key_type].certificate, algorithm, STS, signature,
                                 lenient=lenient)


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(min_size=1, max_size=200), key_type=st.sampled_from(KEY_TYPES))
def test_random_hex_signatures_never_verify(leaves: dict[str, IssuedCertificate], raw: bytes,
                                            key_type: str) -> None:
    leaf = leaves[key_type]
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(leaf.certificate, leaf.key.algorithm, STS, raw.hex(),
                                 lenient=True)
