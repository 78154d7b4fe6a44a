"""The official aws_signing_helper with keys on a PKCS#11 token (SoftHSM2): --pkcs11-lib,
--reuse-pin, the PIN in the URI, a file certificate with a token key; and the same
signatures and identities from roleport-signing-helper."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from roleport.testing import DevPki, RolesAnywhereSetup

from ..softhsm import PIN, Token, make_token
from .support import credential_args, ours, run


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory, pki: DevPki) -> Token:
    return make_token(tmp_path_factory.mktemp("official-softhsm"), pki)


def arns(setup: RolesAnywhereSetup) -> list[str]:
    args = credential_args(setup)
    return args[args.index("--trust-anchor-arn"):]


def token_env(token: Token, setup: RolesAnywhereSetup) -> dict[str, str]:
    return {**token.env, "SSL_CERT_FILE": str(setup.server.ca_bundle),
            "AWS_CA_BUNDLE": str(setup.server.ca_bundle)}


@pytest.mark.parametrize("label", ["ec", "rsa"])
def test_certificate_and_key_on_the_token(aws_signing_helper: Path, token: Token,
                                          setup: RolesAnywhereSetup, label: str) -> None:
    done = run(aws_signing_helper, "credential-process", "--certificate",
               f"pkcs11:token=roleport;object={label}?pin-value={PIN}", "--pkcs11-lib",
               token.module, *arns(setup), env=token_env(token, setup))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")


def test_file_certificate_with_a_token_key_and_reuse_pin(
        aws_signing_helper: Path, token: Token, setup: RolesAnywhereSetup) -> None:
    done = run(aws_signing_helper, "credential-process", "--certificate", str(token.ec_files),
               "--private-key", f"pkcs11:token=roleport;object=ec?pin-value={PIN}",
               "--pkcs11-lib", token.module, "--reuse-pin", *arns(setup),
               env=token_env(token, setup))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")


def test_sign_string_and_read_certificate_data_on_the_token_match_ours(
        aws_signing_helper: Path, token: Token, setup: RolesAnywhereSetup) -> None:
    env = token_env(token, setup)
    sign = ["sign-string", "--certificate", f"pkcs11:token=roleport;object=rsa?pin-value={PIN}",
            "--pkcs11-lib", token.module, "--format", "text"]
    official, mine = run(aws_signing_helper, *sign, env=env), ours(*sign, env=env)
    assert official.returncode == mine.returncode == 0, official.stderr + mine.stderr
    assert official.stdout == mine.stdout  # RSA PKCS#1 v1.5: the same bytes

    listing = ["read-certificate-data", "--certificate",
               f"pkcs11:token=roleport;type=cert?pin-value={PIN}", "--pkcs11-lib", token.module]
    official, mine = run(aws_signing_helper, *listing, env=env), ours(*listing, env=env)
    assert official.returncode == mine.returncode == 0, official.stderr + mine.stderr
    assert official.stdout.startswith(b"Matching identities\n")
    assert mine.stdout.startswith(b"Matching identities\n")
    # the same certificates; v1.4.0 prints `N) <sha1> "<subject>"`, ours (as 1.8.0) prints
    # `N) Hex Fingerprint: <sha1>` then Subject, Issuer and Serial Number lines
    theirs = set(re.findall(rb"^\d+\) ([0-9a-f]{40}) ", official.stdout, re.MULTILINE))
    our_list = set(re.findall(rb"^\d+\) Hex Fingerprint: ([0-9a-f]{40})$", mine.stdout,
                              re.MULTILINE))
    assert theirs == our_list and len(theirs) == 4
