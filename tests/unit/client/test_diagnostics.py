"""sign-string, read-certificate-data, PKCS#11 URIs and the CLI's argument handling."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from roleport.cli.signing_helper import cli, normalize_args
from roleport.client.diagnostics import (
    SIGN_STRING_PREFIX,
    certificate_data,
    describe_identities,
    public_key_bytes,
    sign_string,
)
from roleport.client.diagnostics import signing_test_string as make_test_string
from roleport.client.errors import ConfigurationError
from roleport.client.pkcs11 import _der_ecdsa, parse_pkcs11_uri
from roleport.client.signers import FileSigner
from roleport.crypto.signatures import verify_request_signature


def test_sign_string_signs_the_official_test_string(files) -> None:
    signer = FileSigner(files.path("alice.pem"), files.path("alice.key"))
    data = make_test_string(signer.certificate)
    point = public_key_bytes(signer.certificate)
    assert point[0] == 4 and len(point) == 65  # uncompressed P-256 point
    assert data == SIGN_STRING_PREFIX + b"1" + hashlib.sha256(b"IAM RA" + point).digest()
    signature = json.loads(sign_string(signer))
    verify_request_signature(signer.certificate, signer.algorithm, data, signature,
                             lenient=False)
    assert bytes.fromhex(sign_string(signer, output="text").decode())
    with pytest.raises(ConfigurationError):
        sign_string(signer, digest="MD5")


def test_rsa_public_key_is_pkcs1_and_ml_dsa_has_no_suffix(files) -> None:
    rsa = FileSigner(files.path("bob.pem"), files.path("bob.key")).certificate
    assert public_key_bytes(rsa)[:2] == b"\x30\x82"  # RSAPublicKey SEQUENCE
    mldsa = FileSigner(files.path("carol.pem"), files.path("carol.key")).certificate
    assert make_test_string(mldsa) == SIGN_STRING_PREFIX + b"1"


def test_certificate_data_matches_the_go_helpers_fields(files) -> None:
    data = certificate_data(files.leaf.certificate)
    assert data == {"keyType": "EC", "certificateData": files.leaf.certificate.der_base64,
                    "serialNumber": files.leaf.certificate.serial_decimal,
                    "supportedAlgorithms": ["ECSHA256", "ECSHA384", "ECSHA512"]}
    assert certificate_data(files.rsa_leaf.certificate)["supportedAlgorithms"][0] == "RSASHA256"
    mldsa = certificate_data(files.mldsa_leaf.certificate)
    assert mldsa["keyType"] == "ML-DSA-65" and mldsa["supportedAlgorithms"] == ["ML-DSA-65"]


def test_identities_are_listed_like_the_go_helper(files) -> None:
    cert = files.leaf.certificate
    text = describe_identities([(cert, "pkcs11:token=t;object=o")])
    assert text.startswith(f"Matching identities\n1) Hex Fingerprint: {cert.sha1_fingerprint}\n")
    assert f"\tSerial Number: {cert.serial_hex.upper()}\n" in text
    assert "\tURI: pkcs11:token=t;object=o" in text


def test_pkcs11_uri_parsing() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=My%20Token;object=client;id=%01%ff;type=private"
                           "?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so")
    assert uri.path["token"] == "My Token" and uri.object == "client"
    assert uri.id == b"\x01\xff" and uri.type == "private"
    assert uri.query == {"pin-value": "1234",
                         "module-path": "/usr/lib/softhsm/libsofthsm2.so"}
    for bad in ("pkcs11:bogus=1", "pkcs11:token", "pkcs11:token=a;token=b", "file:x"):
        with pytest.raises(ConfigurationError):
            parse_pkcs11_uri(bad)


def test_raw_ecdsa_signature_becomes_der() -> None:
    raw = bytes([0x80] + [0] * 31) + bytes([0] * 31 + [5])
    der = _der_ecdsa(raw)
    assert der == bytes.fromhex("3026022100" + "80" + "00" * 31 + "020105")


def test_go_style_boolean_flags_are_accepted() -> None:
    assert normalize_args(["serve", "--no-verify-ssl=true", "--reuse-pin=false", "--port=1"]) \
        == ["serve", "--no-verify-ssl", "--port=1"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_missing_flags_are_listed_at_once_with_exit_code_2() -> None:
    code, output = run("credential-process")
    assert code == 2
    assert "missing --certificate, --trust-anchor-arn, --profile-arn, --role-arn" in output
    assert "one line of ~/.aws/config" in output


def test_unsupported_linux_flags_say_so(files) -> None:
    code, output = run("credential-process", "--cert-selector", "Key=x509Subject,Value=CN=a",
                       "--certificate", files.path("alice.pem"), "--private-key",
                       files.path("alice.key"), "--trust-anchor-arn",
                       "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/t",
                       "--profile-arn", "arn:aws:rolesanywhere:us-east-1:111122223333:profile/p",
                       "--role-arn", "arn:aws:iam::111122223333:role/r")
    assert code == 2 and "--cert-selector is not supported" in output


def test_no_command_prints_help_and_version_prints_the_version() -> None:
    from roleport import __version__

    code, output = run()
    assert code == 0 and "credential-process" in output and "Exit status" in output
    assert run("version") == (0, __version__ + "\n")
