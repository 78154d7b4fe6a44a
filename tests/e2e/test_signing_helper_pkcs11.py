"""roleport-signing-helper with keys on a PKCS#11 token (SoftHSM2 from Debian), against a
real server: certificate and key on the token, a file certificate with a token key, the
chain taken from the token's real issuers only (Go issue #174), RSA and EC, PIN errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from roleport.testing import DevPki, RoleportServer, RolesAnywhereSetup

from .softhsm import PIN, Token, make_token
from .test_signing_helper_support import helper


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPki]:
    dev = DevPki(tmp_path_factory.mktemp("p11-pki"))
    yield dev
    dev.close()


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory, pki: DevPki) -> Token:
    return make_token(tmp_path_factory.mktemp("softhsm"), pki)


@pytest.fixture(scope="module")
def setup(server: RoleportServer, pki: DevPki) -> RolesAnywhereSetup:
    return server.setup_roles_anywhere(pki=pki)


def arns(setup: RolesAnywhereSetup) -> list[str]:
    args = setup.helper_args()
    return args[args.index("--trust-anchor-arn"):]


@pytest.mark.parametrize("label", ["ec", "rsa"])
def test_certificate_and_key_on_the_token(token: Token, setup: RolesAnywhereSetup,
                                          label: str) -> None:
    done = helper("credential-process", "--certificate", token.uri(label, **{"pin-value": PIN}),
                  *arns(setup), "--debug", env=token.env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
    # the chain holds the real issuer from the token, not the unrelated CA (Go issue #174)
    chain_line = next(line for line in done.stderr.splitlines()
                      if line.startswith("x-amz-x509-chain:"))
    assert "," not in chain_line


def test_file_certificate_with_a_token_key_and_the_pin_flag(token: Token,
                                                            setup: RolesAnywhereSetup) -> None:
    done = helper("credential-process", "--certificate", str(token.ec_files),
                  "--private-key", "pkcs11:token=roleport;object=ec", "--pkcs11-lib",
                  token.module, "--pkcs11-pin", PIN, *arns(setup), env=token.env)
    assert done.returncode == 0, done.stderr
    with_env = helper("credential-process", "--certificate", token.uri("ec"), *arns(setup),
                      env={**token.env, "ROLEPORT_PKCS11_PIN": PIN})
    assert with_env.returncode == 0, with_env.stderr


def test_pin_mistakes_and_a_mismatched_key(token: Token, setup: RolesAnywhereSetup) -> None:
    no_pin = helper("credential-process", "--certificate", token.uri("ec"), *arns(setup),
                    env=token.env)
    assert no_pin.returncode == 3 and "needs a PIN" in no_pin.stderr
    wrong = helper("credential-process", "--certificate", token.uri("ec", **{"pin-value": "0000"}),
                   *arns(setup), env=token.env)
    assert wrong.returncode == 3 and "wrong PIN" in wrong.stderr
    mismatch = helper("credential-process", "--certificate", str(token.ec_files),
                      "--private-key", token.uri("rsa", **{"pin-value": PIN}), *arns(setup),
                      env=token.env)
    assert mismatch.returncode == 3 and "does not match the certificate" in mismatch.stderr


def test_read_certificate_data_and_sign_string_on_the_token(token: Token) -> None:
    listed = helper("read-certificate-data", "--certificate",
                    f"pkcs11:token=roleport;type=cert?module-path={token.module}",
                    "--pkcs11-pin", PIN, env=token.env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("Matching identities\n1) Hex Fingerprint: ")
    assert "Subject: CN=token-ec" in listed.stdout and "Subject: CN=token-rsa" in listed.stdout
    assert "URI: pkcs11:token=roleport;object=ec;id=%01;type=cert" in listed.stdout
    signed = helper("sign-string", "--certificate", token.uri("rsa", **{"pin-value": PIN}),
                    "--digest", "SHA384", "--format", "text", env=token.env)
    assert signed.returncode == 0 and len(bytes.fromhex(signed.stdout)) == 256
