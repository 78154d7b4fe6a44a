from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.crypto import devpki
from roleport.crypto.devpki import IssuedCertificate
from roleport.crypto.errors import KeyLoadError
from roleport.crypto.keys import (
    PrivateKey,
    check_key_matches,
    generate_private_key,
    load_pkcs12,
    load_private_key,
    mldsa_available,
)
from roleport.crypto.signatures import verify_request_signature

from .conftest import KEY_TYPES, Pki

DATA = b"string to sign"


@pytest.fixture(scope="module")
def leaves(pki: Pki) -> dict[str, IssuedCertificate]:
    return {key_type: pki.leaf(key_type) for key_type in KEY_TYPES}


@pytest.mark.parametrize(("key_type", "algorithm"), [
    ("ec", "AWS4-X509-ECDSA-SHA256"), ("rsa", "AWS4-X509-RSA-SHA256"),
    ("mldsa", "AWS4-X509-MLDSA"),
])
def test_sign_produces_what_the_server_verifies(leaves: dict[str, IssuedCertificate],
                                                key_type: str, algorithm: str) -> None:
    leaf = leaves[key_type]
    assert leaf.key.algorithm == algorithm
    signature = leaf.key.sign(DATA)
    assert verify_request_signature(leaf.certificate, algorithm, DATA, signature.hex(),
                                    lenient=False) == set()


def test_ecdsa_signature_is_der_encoded(leaves: dict[str, IssuedCertificate]) -> None:
    signature = leaves["ec"].key.sign(DATA)
    assert signature[0] == 0x30 and signature[1] == len(signature) - 2


@pytest.mark.parametrize(("options", "details"), [
    ({"key_type": "ec"}, ("EC", 256, "secp256r1", None)),
    ({"key_type": "ec", "curve": "P-384"}, ("EC", 384, "secp384r1", None)),
    ({"key_type": "mldsa", "mldsa_variant": "ML-DSA-44"}, ("ML-DSA", None, None, "ML-DSA-44")),
    ({"key_type": "mldsa", "mldsa_variant": "87"}, ("ML-DSA", None, None, "ML-DSA-87")),
])
def test_generate_private_key(options: dict[str, str],
                              details: tuple[str, int | None, str | None, str | None]) -> None:
    key = generate_private_key(**options)
    assert (key.key_type, key.key_size, key.curve, key.mldsa_variant) == details


@pytest.mark.parametrize(("options", "message"), [
    ({"key_type": "dsa"}, "unknown key type"),
    ({"key_type": "ec", "curve": "brainpool"}, "unknown EC curve"),
    ({"key_type": "rsa", "key_size": 512}, "cannot generate an RSA key of 512 bits"),
    ({"key_type": "mldsa", "mldsa_variant": "ML-DSA-99"}, "unknown ML-DSA variant"),
])
def test_generate_private_key_rejects_bad_options(options: dict[str, object],
                                                  message: str) -> None:
    with pytest.raises(KeyLoadError, match=message):
        generate_private_key(**options)  # type: ignore[arg-type]


def test_mldsa_is_available_in_the_test_environment() -> None:
    assert mldsa_available()


def test_ed25519_keys_cannot_sign_create_session_requests() -> None:
    key = generate_private_key("ed25519")
    with pytest.raises(KeyLoadError, match="Ed25519 keys cannot sign CreateSession requests"):
        _ = key.algorithm
    with pytest.raises(KeyLoadError, match="Ed25519 keys cannot sign"):
        key.sign(DATA)


# -- loading PEM and DER ------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_pkcs8_pem_round_trips(leaves: dict[str, IssuedCertificate], key_type: str) -> None:
    leaf = leaves[key_type]
    pem = leaf.key.to_pem()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(pem)
    assert loaded.public_key_matches(leaf.certificate) and loaded.key_type == leaf.key.key_type


@pytest.mark.parametrize(("key_type", "header"), [("ec", "EC PRIVATE KEY"),
                                                  ("rsa", "RSA PRIVATE KEY")])
def test_traditional_pem_sec1_and_pkcs1(leaves: dict[str, IssuedCertificate], key_type: str,
                                         header: str) -> None:
    pem = leaves[key_type].key.to_pem(traditional=True)
    assert pem.startswith(f"-----BEGIN {header}-----")
    assert load_private_key(pem.encode()).public_key_matches(leaves[key_type].certificate)


def test_sec1_with_ec_parameters_block_first(leaves: dict[str, IssuedCertificate]) -> None:
    params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    key = load_private_key(params + leaves["ec"].key.to_pem(traditional=True))
    assert key.public_key_matches(leaves["ec"].certificate)


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("password", ["pässword", b"bytes-password"])
def test_encrypted_pkcs8_needs_the_right_passphrase(leaves: dict[str, IssuedCertificate],
                                                    key_type: str,
                                                    password: str | bytes) -> None:
    pem = leaves[key_type].key.to_pem(password)
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_private_key(pem, password).public_key_matches(leaves[key_type].certificate)
    with pytest.raises(KeyLoadError, match="^private key is encrypted: a passphrase is required$"):
        load_private_key(pem)
    with pytest.raises(KeyLoadError,
                       match="^private key could not be decrypted: wrong passphrase$"):
        load_private_key(pem, "wrong")


def test_legacy_openssl_encrypted_pem(leaves: dict[str, IssuedCertificate]) -> None:
    pem = leaves["ec"].key.to_pem("pw", traditional=True)
    assert "Proc-Type: 4,ENCRYPTED" in pem
    assert load_private_key(pem, "pw").public_key_matches(leaves["ec"].certificate)
    with pytest.raises(KeyLoadError, match="wrong passphrase"):
        load_private_key(pem, "nope")


def test_password_for_an_unencrypted_key_is_ignored(leaves: dict[str, IssuedCertificate]) -> None:
    assert load_private_key(leaves["ec"].key.to_pem(), "unused").public_key_matches(
        leaves["ec"].certificate)


def test_der_pkcs8(leaves: dict[str, IssuedCertificate]) -> None:
    assert load_private_key(leaves["rsa"].key.to_der()).public_key_matches(
        leaves["rsa"].certificate)


@pytest.mark.parametrize("data", [b"", b"garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                  "-----END PRIVATE KEY-----\n"])
def test_not_a_key(data: bytes | str) -> None:
    with pytest.raises(KeyLoadError, match="^data is not a private key"):
        load_private_key(data)


def test_a_certificate_is_not_a_key(pki: Pki) -> None:
    with pytest.raises(KeyLoadError, match="not a private key"):
        load_private_key(pki.ec_root.cert_pem)


def test_traditional_format_does_not_exist_for_mldsa(leaves: dict[str, IssuedCertificate]) -> None:
    with pytest.raises(KeyLoadError, match="no traditional PEM format"):
        leaves["mldsa"].key.to_pem(traditional=True)


@settings(max_examples=150)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_random_input_raises_only_key_load_error(data: bytes | str) -> None:
    with pytest.raises(KeyLoadError):
        load_private_key(data)


# -- PKCS#12 ------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_pkcs12_with_password_round_trips(pki: Pki, key_type: str) -> None:
    inter = pki.ec_intermediate
    extra = {"key": pki.rsa_key} if key_type == "rsa" else {}
    leaf = devpki.issue_leaf(inter, key_type=key_type, **extra)
    bundle = load_pkcs12(leaf.pkcs12("secret"), "secret")
    assert bundle.certificate == leaf.certificate
    assert bundle.chain == [inter.certificate]  # the root is not an intermediate
    assert bundle.key.public_key_matches(leaf.certificate)


def test_pkcs12_without_password(pki: Pki) -> None:
    leaf = devpki.issue_leaf(pki.ec_root)
    bundle = load_pkcs12(leaf.pkcs12())
    assert bundle.certificate == leaf.certificate and bundle.chain == []
    assert load_pkcs12(leaf.pkcs12(), "needless").certificate == leaf.certificate


def test_pkcs12_wrong_or_missing_password(pki: Pki) -> None:
    data = devpki.issue_leaf(pki.ec_root).pkcs12("secret")
    with pytest.raises(KeyLoadError, match="wrong passphrase, or not a PKCS#12 file"):
        load_pkcs12(data, "other")
    with pytest.raises(KeyLoadError, match="not a PKCS#12 file, or it needs a passphrase"):
        load_pkcs12(data)


def test_pkcs12_garbage() -> None:
    with pytest.raises(KeyLoadError, match="PKCS#12 bundle could not be opened"):
        load_pkcs12(b"\x30\x03\x02\x01\x03")


def test_pkcs12_export_of_mldsa_key_is_refused(leaves: dict[str, IssuedCertificate]) -> None:
    with pytest.raises(KeyLoadError, match="cannot write a PKCS#12 bundle"):
        leaves["mldsa"].pkcs12()


# -- key and certificate ------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_key_matches_only_its_own_certificate(pki: Pki, leaves: dict[str, IssuedCertificate],
                                              key_type: str) -> None:
    leaf = leaves[key_type]
    assert leaf.key.public_key_matches(leaf.certificate)
    check_key_matches(leaf.key, leaf.certificate)
    other = leaves["ec" if key_type != "ec" else "rsa"].certificate
    assert not leaf.key.public_key_matches(other)
    assert not leaf.key.public_key_matches(pki.root_for(key_type).certificate)
    with pytest.raises(KeyLoadError,
                       match="^private key does not match certificate CN=roleport-dev-client$"):
        check_key_matches(leaf.key, other)


def test_mismatch_message_uses_the_serial_without_a_subject(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, cn=None, sans=["DNS:x"], serial=291).certificate
    with pytest.raises(KeyLoadError, match="does not match certificate serial 0123"):
        check_key_matches(pki.ec_root.key, cert)


def test_repr_shows_type_and_size(pki: Pki, leaves: dict[str, IssuedCertificate]) -> None:
    assert repr(leaves["ec"].key) == "PrivateKey(EC secp256r1)"
    assert repr(pki.rsa_key) == "PrivateKey(RSA 2048 bits)"
    assert repr(leaves["mldsa"].key) == "PrivateKey(ML-DSA ML-DSA-65)"


def test_sign_as_rejects_unknown_options(leaves: dict[str, IssuedCertificate]) -> None:
    with pytest.raises(ValueError, match="unknown hash"):
        leaves["ec"].key.sign_as(DATA, hash="md4")
    with pytest.raises(ValueError, match="unknown PSS salt length"):
        leaves["rsa"].key.sign_as(DATA, rsa_pss=True, pss_salt="auto")


def test_private_key_wraps_only_supported_types() -> None:
    with pytest.raises(KeyLoadError, match="unsupported private key type"):
        PrivateKey(object())
