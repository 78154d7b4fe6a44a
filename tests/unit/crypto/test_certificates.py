from __future__ import annotations

import base64
import contextlib
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roleport.crypto import devpki
from roleport.crypto.certificates import (
    Certificate,
    check_end_entity_certificate,
    check_trust_anchor_certificate,
    load_der,
    load_der_base64,
    load_pem_bundle,
)
from roleport.crypto.errors import CertificateError, CryptoError

from .conftest import KEY_TYPES, Pki

# -- loading ------------------------------------------------------------------------------


def test_load_pem_bundle_returns_certificates_in_order(pki: Pki) -> None:
    text = pki.ec_root.cert_pem + pki.rsa_root.cert_pem
    assert load_pem_bundle(text) == [pki.ec_root.certificate, pki.rsa_root.certificate]


def test_load_pem_bundle_accepts_bytes_and_ignores_other_blocks_and_text(pki: Pki) -> None:
    text = ("subject=CN=x\n" + pki.ec_root.key_pem + "junk\n" + pki.ec_root.cert_pem
            + "trailing words").encode()
    assert load_pem_bundle(text) == [pki.ec_root.certificate]


def test_load_pem_bundle_accepts_crlf_line_endings(pki: Pki) -> None:
    text = pki.ec_root.cert_pem.replace("\n", "\r\n")
    assert load_pem_bundle(text) == [pki.ec_root.certificate]


@pytest.mark.parametrize("text", [
    "", "hello", "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n",
])
def test_load_pem_bundle_rejects_text_without_certificate(text: str) -> None:
    with pytest.raises(CertificateError, match="^no PEM certificate found$"):
        load_pem_bundle(text)


def test_load_pem_bundle_names_the_certificate_that_does_not_parse(pki: Pki) -> None:
    broken = ("-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"\x30\x03abc").decode()
              + "\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateError) as caught:
        load_pem_bundle(pki.ec_root.cert_pem + broken)
    # the message is ours; what the parser said is the detail, for logs only
    assert caught.value.message == "certificate 2 could not be parsed"
    assert caught.value.detail and "asn1" in caught.value.detail.lower()
    assert caught.value.full.startswith("certificate 2 could not be parsed (")


def test_load_pem_bundle_names_the_certificate_with_bad_base64(pki: Pki) -> None:
    broken = "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError, match="^certificate 3 is not valid base64"):
        load_pem_bundle(pki.ec_root.cert_pem * 2 + broken)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_load_pem_bundle_of_garbage_raises_only_certificate_error(garbage: bytes | str) -> None:
    with contextlib.suppress(CertificateError):  # any other exception fails the test
        load_pem_bundle(garbage)


@settings(max_examples=200)
@given(st.binary(min_size=0, max_size=300))
def test_garbage_inside_pem_armour_raises_only_certificate_error(body: bytes) -> None:
    text = ("-----BEGIN CERTIFICATE-----\n" + base64.b64encode(body).decode()
            + "\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateError):
        load_pem_bundle(text)


def test_load_der_round_trips(pki: Pki) -> None:
    cert = pki.ec_root.certificate
    assert load_der(cert.der) == cert
    assert load_der_base64(cert.der_base64) == cert


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_load_der_of_garbage_raises_certificate_error(garbage: bytes) -> None:
    with pytest.raises(CertificateError, match="could not be parsed"):
        load_der(garbage)


def test_load_der_rejects_a_truncated_certificate(pki: Pki) -> None:
    with pytest.raises(CertificateError) as caught:
        load_der(pki.ec_root.certificate.der[:-10])
    assert caught.value.message == "certificate could not be parsed"
    assert caught.value.detail


def test_load_der_base64_is_strict_by_default(pki: Pki) -> None:
    value = pki.ec_root.certificate.der_base64
    wrapped = "\n".join(value[i:i + 64] for i in range(0, len(value), 64))
    with pytest.raises(CertificateError, match="not valid base64"):
        load_der_base64(wrapped)
    with pytest.raises(CertificateError, match="not valid base64"):
        load_der_base64(value.rstrip("=") + "!")


def test_load_der_base64_lenient_accepts_whitespace_and_missing_padding(pki: Pki) -> None:
    cert = pki.ec_root.certificate
    value = cert.der_base64.rstrip("=")
    wrapped = " \n".join(value[i:i + 64] for i in range(0, len(value), 64))
    assert load_der_base64(wrapped, lenient=True) == cert


def test_load_der_base64_rejects_empty_value() -> None:
    with pytest.raises(CertificateError, match="empty"):
        load_der_base64("")


# -- identity, encodings, serials ---------------------------------------------------------


def test_certificates_are_equal_and_hash_by_der(pki: Pki) -> None:
    a = load_der(pki.ec_root.certificate.der)
    b = pki.ec_root.certificate  # built by devpki, not by load_der
    assert a == b and hash(a) == hash(b)
    assert load_der(bytearray(pki.ec_root.certificate.der)) is a  # parsed once, remembered
    assert a != pki.rsa_root.certificate
    assert len({a, b, pki.rsa_root.certificate}) == 2


def test_pem_property_round_trips(pki: Pki) -> None:
    cert = pki.ec_intermediate.certificate
    assert cert.pem.startswith("-----BEGIN CERTIFICATE-----\n")
    assert cert.pem.endswith("-----END CERTIFICATE-----\n")
    assert all(len(line) <= 64 for line in cert.pem.splitlines())
    assert load_pem_bundle(cert.pem) == [cert]


def test_fingerprints_are_hex_digests_of_the_der(pki: Pki) -> None:
    cert = pki.ec_root.certificate
    assert cert.sha256_fingerprint == hashlib.sha256(cert.der).hexdigest()
    assert cert.fingerprint() == cert.sha256_fingerprint
    assert cert.sha1_fingerprint == hashlib.sha1(cert.der).hexdigest()
    colon = cert.fingerprint("sha256", separator=":")
    assert colon.replace(":", "").lower() == cert.sha256_fingerprint
    assert colon.count(":") == 31 and colon.isupper()


@pytest.mark.parametrize(
    ("serial", "hex_form", "der_hex"),
    [
        (291, "0123", "0123"),
        (17767, "4567", "4567"),
        (1, "01", "01"),
        (255, "ff", "00FF"),
        (256, "0100", "0100"),
        (0x936EACBE07F201DF, "936eacbe07f201df", "00936EACBE07F201DF"),
    ],
)
def test_serial_formats(pki: Pki, serial: int, hex_form: str, der_hex: str) -> None:
    cert = devpki.issue_leaf(pki.ec_root, serial=serial, key=pki.ec_root.key).certificate
    assert cert.serial == serial
    assert cert.serial_decimal == str(serial)
    assert cert.serial_hex == hex_form
    assert cert.serial_der_hex == der_hex


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=2**159 - 1))
def test_serial_hex_is_even_lower_case_and_round_trips(pki: Pki, serial: int) -> None:
    cert = devpki.issue_leaf(pki.ec_root, serial=serial, key=pki.ec_root.key).certificate
    assert len(cert.serial_hex) % 2 == 0
    assert cert.serial_hex == cert.serial_hex.lower()
    assert int(cert.serial_hex, 16) == serial
    content = bytes.fromhex(cert.serial_der_hex)
    assert int.from_bytes(content, "big", signed=True) == serial
    assert len(content) == 1 or not (content[0] == 0 and content[1] < 0x80)  # minimal
    assert cert.serial_der_hex.encode() in cert.der.hex().upper().encode()


# -- names --------------------------------------------------------------------------------


def test_subject_attributes_use_short_names_in_certificate_order(pki: Pki) -> None:
    subject = [("C", "US"), ("ST", "Washington"), ("L", "Seattle"), ("O", "Amazon"),
               ("OU", "Security"), ("OU", "Engineering"), ("CN", "alice"), ("UID", "u-1"),
               ("DC", "example"), ("emailAddress", "alice@example.com")]
    cert = devpki.issue_leaf(pki.ec_root, subject=subject, key=pki.ec_root.key).certificate
    assert cert.subject_attributes == subject
    assert cert.issuer_attributes == [("CN", "Test EC Root")]
    assert cert.common_name == "alice"
    assert cert.subject_dn.startswith("1.2.840.113549.1.9.1=alice@example.com,DC=example,")
    assert cert.subject_dn.endswith("O=Amazon,L=Seattle,ST=Washington,C=US")


def test_subject_attributes_skip_unrecognised_oids(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, subject=[("CN", "a"), ("1.2.3.4.5", "x")],
                             key=pki.ec_root.key).certificate
    assert cert.subject_attributes == [("CN", "a")]
    assert "1.2.3.4.5=x" in cert.subject_dn


def test_issuer_dn_of_a_leaf_is_the_subject_dn_of_its_ca(pki: Pki) -> None:
    leaf = devpki.issue_leaf(pki.ec_intermediate, key=pki.ec_root.key).certificate
    assert leaf.issuer_dn == pki.ec_intermediate.certificate.subject_dn == "CN=Test EC Intermediate"
    assert not leaf.is_self_issued and pki.ec_root.certificate.is_self_issued


def test_subject_alternative_names_are_split_by_type_in_order(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, sans=[
        "DNS:a.example", "URI:spiffe://example.com/a", "DNS:b.example", "email:a@example.com",
        "IP:127.0.0.1", "IP:::1", "dirName:CN=Alice,OU=Eng,O=Org", "URI:https://x/y",
    ], key=pki.ec_root.key).certificate
    assert cert.san_dns == ["a.example", "b.example"]
    assert cert.san_uris == ["spiffe://example.com/a", "https://x/y"]
    assert cert.san_emails == ["a@example.com"]
    assert cert.san_ips == ["127.0.0.1", "::1"]
    assert cert.san_directory_names == [[("O", "Org"), ("OU", "Eng"), ("CN", "Alice")]]


def test_certificate_without_san_has_empty_lists(pki: Pki) -> None:
    cert = pki.ec_root.certificate
    assert (cert.san_dns, cert.san_uris, cert.san_directory_names) == ([], [], [])


def test_returned_lists_are_copies(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, sans=["DNS:a"], key=pki.ec_root.key).certificate
    cert.san_dns.append("evil")
    cert.subject_attributes.clear()
    assert cert.san_dns == ["a"] and cert.subject_attributes == [("CN", "roleport-dev-client")]


def test_crl_distribution_points_keep_http_uris_only(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, crl_distribution_points=[
        "http://crl.example/a.crl", "ldap://ldap.example/cn=crl", "https://crl.example/b.crl",
    ], key=pki.ec_root.key).certificate
    assert cert.crl_distribution_points == ["http://crl.example/a.crl",
                                            "https://crl.example/b.crl"]


# -- extensions, key, signature -----------------------------------------------------------


def test_ca_and_leaf_extensions_are_reported(pki: Pki) -> None:
    ca, leaf = pki.ec_root.certificate, devpki.issue_leaf(pki.ec_root).certificate
    assert ca.is_ca and ca.has_basic_constraints and ca.path_length is None
    assert ca.key_usage == frozenset({"key_cert_sign", "crl_sign", "digital_signature"})
    assert ca.allows_key_usage("key_cert_sign") and not leaf.allows_key_usage("key_cert_sign")
    assert not leaf.is_ca and leaf.key_usage == frozenset({"digital_signature"})
    assert leaf.extended_key_usage == ["1.3.6.1.5.5.7.3.2"]
    assert ca.extended_key_usage is None
    assert leaf.authority_key_identifier == ca.subject_key_identifier is not None
    assert leaf.version == 3


def test_allows_key_usage_rejects_unknown_names(pki: Pki) -> None:
    with pytest.raises(ValueError):
        pki.ec_root.certificate.allows_key_usage("digitalSignature")


def test_missing_key_usage_is_none(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, key_usage=None, key=pki.ec_root.key).certificate
    assert cert.key_usage is None and not cert.has_key_usage
    assert not cert.allows_key_usage("digital_signature")


@pytest.mark.parametrize(("curve", "bits"), [("secp256r1", 256), ("secp384r1", 384),
                                             ("secp521r1", 521)])
def test_ec_key_details(pki: Pki, curve: str, bits: int) -> None:
    cert = devpki.issue_leaf(pki.ec_root, curve=curve).certificate
    assert (cert.key_type, cert.key_size, cert.curve) == ("EC", bits, curve)
    assert cert.mldsa_variant is None


def test_rsa_key_details(pki: Pki) -> None:
    cert = pki.rsa_root.certificate
    assert (cert.key_type, cert.key_size, cert.curve) == ("RSA", 2048, None)
    assert cert.signature_hash == "sha256"
    assert cert.signature_algorithm == "sha256WithRSAEncryption"


@pytest.mark.parametrize("variant", ["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"])
def test_mldsa_key_details(pki: Pki, variant: str) -> None:
    cert = devpki.issue_leaf(pki.mldsa_root, key_type="mldsa", mldsa_variant=variant).certificate
    assert (cert.key_type, cert.mldsa_variant, cert.key_size, cert.curve) == (
        "ML-DSA", variant, None, None)
    assert cert.signature_hash is None  # ML-DSA signs without a separate digest
    assert cert.signature_algorithm == "ML-DSA-65"  # the issuer's key


@pytest.mark.parametrize(("issuer", "hash_name"), [
    *(("rsa_root", h) for h in ("sha256", "sha384", "sha512", "sha1", "md5")),
    *(("ec_root", h) for h in ("sha256", "sha384", "sha512", "sha1")),  # no ECDSA with MD5
])
def test_signature_hash_reports_the_issuers_digest(pki: Pki, hash_name: str, issuer: str) -> None:
    ca = getattr(pki, issuer)
    cert = devpki.issue_leaf(ca, hash=hash_name, key=pki.ec_root.key).certificate
    assert cert.signature_hash == hash_name
    assert cert.is_issued_by(ca.certificate)


def test_is_issued_by_checks_name_and_signature(pki: Pki) -> None:
    leaf = devpki.issue_leaf(pki.ec_intermediate).certificate
    assert leaf.is_issued_by(pki.ec_intermediate.certificate)
    assert not leaf.is_issued_by(pki.ec_root.certificate)  # wrong name
    impostor = devpki.create_root_ca("Test EC Intermediate")  # same name, other key
    assert not leaf.is_issued_by(impostor.certificate)


def test_version_1_certificate_is_reported(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, version=1, key=pki.ec_root.key).certificate
    assert cert.version == 1
    assert cert.key_usage is None and not cert.has_basic_constraints
    assert cert.is_issued_by(pki.ec_root.certificate)


def test_validity_dates_are_aware_utc(pki: Pki) -> None:
    start = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    cert = devpki.issue_leaf(pki.ec_root, not_before=start, not_after=start + timedelta(days=1),
                             key=pki.ec_root.key).certificate
    assert cert.not_before == start and cert.not_before.tzinfo is not None
    assert cert.not_after == start + timedelta(days=1)


def test_validity_problem_requires_an_aware_datetime(pki: Pki) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pki.ec_root.certificate.validity_problem(datetime(2030, 1, 1))


# -- trust anchor rules -------------------------------------------------------------------


@pytest.mark.parametrize("ca", ["ec_root", "ec_intermediate", "rsa_root", "mldsa_root"])
def test_trust_anchor_accepts_root_and_intermediate_cas(pki: Pki, ca: str) -> None:
    check_trust_anchor_certificate(getattr(pki, ca).certificate)


def test_trust_anchor_refuses_keys_path_validation_cannot_use() -> None:
    # An Ed25519 or RSA-1024 CA could be stored but never anchor a path: refuse it up front.
    for root in (devpki.create_root_ca("Ed root", key_type="ed25519"),
                 devpki.create_root_ca("Small RSA root", key_type="rsa", key_size=1024)):
        with pytest.raises(CertificateError, match="^certificate "):
            check_trust_anchor_certificate(root.certificate)


def test_trust_anchor_rejects_a_leaf(pki: Pki) -> None:
    with pytest.raises(CertificateError,
                       match="^certificate is not a CA: basicConstraints CA must be true$"):
        check_trust_anchor_certificate(devpki.issue_leaf(pki.ec_root).certificate)


def test_trust_anchor_rejects_ca_without_basic_constraints(pki: Pki) -> None:
    cert = devpki.create_root_ca(basic_constraints=False, key=pki.ec_root.key).certificate
    with pytest.raises(CertificateError, match="not a CA"):
        check_trust_anchor_certificate(cert)


def test_trust_anchor_rejects_ca_without_key_usage(pki: Pki) -> None:
    cert = devpki.create_root_ca(key_usage=None, key=pki.ec_root.key).certificate
    with pytest.raises(CertificateError, match="no keyUsage extension.*keyCertSign"):
        check_trust_anchor_certificate(cert)


def test_trust_anchor_rejects_ca_without_key_cert_sign(pki: Pki) -> None:
    cert = devpki.create_root_ca(key_usage={"crl_sign", "digital_signature"},
                                 key=pki.ec_root.key).certificate
    with pytest.raises(CertificateError, match="^certificate keyUsage must include keyCertSign$"):
        check_trust_anchor_certificate(cert)


@pytest.mark.parametrize(("key_type", "hash_name", "algorithm"), [
    ("ec", "sha1", "ecdsa-with-SHA1"),
    ("rsa", "sha1", "sha1WithRSAEncryption"),
    ("rsa", "md5", "md5WithRSAEncryption"),
    ("ec", "sha224", "ecdsa-with-SHA224"),
])
def test_trust_anchor_rejects_weak_signature_hash(pki: Pki, key_type: str, hash_name: str,
                                                  algorithm: str) -> None:
    key = pki.rsa_key if key_type == "rsa" else pki.ec_root.key
    cert = devpki.create_root_ca(key=key, hash=hash_name).certificate
    with pytest.raises(CertificateError,
                       match=f"signature algorithm {algorithm} uses {hash_name.upper()}: "
                             "SHA-256 or stronger is required"):
        check_trust_anchor_certificate(cert)


def test_trust_anchor_rejects_version_1(pki: Pki) -> None:
    cert = devpki.create_root_ca(version=1, key=pki.ec_root.key).certificate
    with pytest.raises(CertificateError, match="version 1: version 3 required"):
        check_trust_anchor_certificate(cert)


# -- end-entity rules ---------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_end_entity_accepts_good_leaf(pki: Pki, key_type: str, now: datetime) -> None:
    check_end_entity_certificate(pki.leaf(key_type).certificate, now)


@pytest.mark.parametrize("options", [
    {"curve": "secp384r1"}, {"curve": "secp521r1"},
    {"key_type": "mldsa", "mldsa_variant": "ML-DSA-44"},
    {"key_type": "mldsa", "mldsa_variant": "ML-DSA-87"}, {"hash": "sha384"}, {"hash": "sha512"},
    {"cn": None, "subject": [("O", "Org only")]},
])
def test_end_entity_accepts_other_strong_keys_and_hashes(pki: Pki, options: dict[str, object],
                                                         now: datetime) -> None:
    check_end_entity_certificate(devpki.issue_leaf(pki.ec_root, **options).certificate, now)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_end_entity_rejects_a_ca_certificate(pki: Pki, key_type: str, now: datetime) -> None:
    cert = pki.leaf(key_type, is_ca=True,
                    key_usage={"digital_signature", "key_cert_sign"}).certificate
    with pytest.raises(CertificateError,
                       match="^certificate must not be a CA: basicConstraints CA must be false$"):
        check_end_entity_certificate(cert, now)


def test_end_entity_accepts_leaf_without_basic_constraints(pki: Pki, now: datetime) -> None:
    check_end_entity_certificate(
        devpki.issue_leaf(pki.ec_root, basic_constraints=False).certificate, now)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_end_entity_rejects_key_usage_without_digital_signature(pki: Pki, key_type: str,
                                                                now: datetime) -> None:
    cert = pki.leaf(key_type, key_usage={"key_encipherment"}).certificate
    with pytest.raises(CertificateError,
                       match="^certificate keyUsage must include digitalSignature$"):
        check_end_entity_certificate(cert, now)


def test_end_entity_rejects_missing_key_usage(pki: Pki, now: datetime) -> None:
    cert = devpki.issue_leaf(pki.ec_root, key_usage=None).certificate
    with pytest.raises(CertificateError, match="no keyUsage extension.*digitalSignature"):
        check_end_entity_certificate(cert, now)


@pytest.mark.parametrize(("issuer", "hash_name"), [("ec_root", "sha1"), ("rsa_root", "sha1"),
                                                   ("rsa_root", "md5")])
def test_end_entity_rejects_weak_signature_hash(pki: Pki, issuer: str, hash_name: str,
                                                now: datetime) -> None:
    cert = devpki.issue_leaf(getattr(pki, issuer), hash=hash_name).certificate
    with pytest.raises(CertificateError, match=f"uses {hash_name.upper()}: SHA-256 or stronger"):
        check_end_entity_certificate(cert, now)


def test_end_entity_rejects_version_1(pki: Pki, now: datetime) -> None:
    cert = devpki.issue_leaf(pki.ec_root, version=1).certificate
    with pytest.raises(CertificateError, match="version 1: version 3 required"):
        check_end_entity_certificate(cert, now)


def test_end_entity_rejects_empty_subject(pki: Pki, now: datetime) -> None:
    cert = devpki.issue_leaf(pki.ec_root, cn=None, sans=["DNS:only.example"]).certificate
    assert cert.subject_dn == "" and cert.san_dns == ["only.example"]
    with pytest.raises(CertificateError, match="^certificate subject is empty"):
        check_end_entity_certificate(cert, now)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_end_entity_rejects_expired_certificate(pki: Pki, key_type: str, now: datetime) -> None:
    cert = pki.leaf(key_type, not_before=now - timedelta(days=30),
                    not_after=now - timedelta(days=1)).certificate
    with pytest.raises(CertificateError, match="^certificate has expired: notAfter "):
        check_end_entity_certificate(cert, now)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_end_entity_rejects_not_yet_valid_certificate(pki: Pki, key_type: str,
                                                      now: datetime) -> None:
    cert = pki.leaf(key_type, not_before=now + timedelta(days=1),
                    not_after=now + timedelta(days=30)).certificate
    with pytest.raises(CertificateError, match="^certificate is not yet valid: notBefore "):
        check_end_entity_certificate(cert, now)


def test_end_entity_validity_bounds_are_inclusive(pki: Pki) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=1)
    cert = devpki.issue_leaf(pki.ec_root, not_before=start, not_after=end).certificate
    check_end_entity_certificate(cert, start)
    check_end_entity_certificate(cert, end)
    with pytest.raises(CertificateError, match="expired"):
        check_end_entity_certificate(cert, end + timedelta(seconds=1))
    with pytest.raises(CertificateError, match="not yet valid"):
        check_end_entity_certificate(cert, start - timedelta(seconds=1))


def test_end_entity_rejects_rsa_1024(pki: Pki, now: datetime) -> None:
    cert = devpki.issue_leaf(pki.rsa_root, key=pki.rsa_1024).certificate
    with pytest.raises(CertificateError, match="RSA key of 1024 bits is too small"):
        check_end_entity_certificate(cert, now)


def test_end_entity_rejects_unsupported_curve(pki: Pki, now: datetime) -> None:
    cert = devpki.issue_leaf(pki.ec_root, curve="secp256k1").certificate
    with pytest.raises(CertificateError, match="EC curve secp256k1 is not supported"):
        check_end_entity_certificate(cert, now)


def test_end_entity_rejects_ed25519_key(pki: Pki, now: datetime) -> None:
    cert = devpki.issue_leaf(pki.ec_root, key_type="ed25519").certificate
    assert cert.key_type == "Ed25519"
    with pytest.raises(CertificateError, match="key type Ed25519 is not supported"):
        check_end_entity_certificate(cert, now)


def test_certificate_errors_are_crypto_errors_with_a_message(pki: Pki) -> None:
    with pytest.raises(CryptoError) as caught:
        load_pem_bundle("nothing")
    assert caught.value.message == "no PEM certificate found"
    assert isinstance(caught.value, CertificateError)


def test_certificate_has_no_instance_dict_to_mutate(pki: Pki) -> None:
    cert = pki.ec_root.certificate
    assert isinstance(cert, Certificate) and not hasattr(cert, "__dict__")
    with pytest.raises(AttributeError):
        cert.extra = 1  # type: ignore[attr-defined]
