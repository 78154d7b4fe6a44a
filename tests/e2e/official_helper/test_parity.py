"""roleport-signing-helper and the official aws_signing_helper on the same inputs print the
same things: credential-process JSON (keys, order, types, no newline), sign-string in each
format and digest, read-certificate-data byte for byte, serve's IMDS answers, update's
profile. Where they differ on purpose, the test says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from roleport.client.diagnostics import signing_test_string
from roleport.crypto.signatures import verify_request_signature
from roleport.testing import ClientCertificate, DevPki, RolesAnywhereSetup

from ..test_signing_helper_support import HELPER, Background
from .support import credential_args, official_env, ours, ours_env, run
from .test_serve_update import imds, token

KEY_TYPES = {"ec-p256": {"key_type": "ec"},
             "ec-p384": {"key_type": "ec", "curve": "secp384r1"},
             "rsa-2048": {"key_type": "rsa", "key_size": 2048}}


@pytest.fixture(scope="module")
def certificates(pki: DevPki) -> dict[str, ClientCertificate]:
    return {name: pki.issue(f"parity-{name}", **options) for name, options in KEY_TYPES.items()}


def both(binary: Path, setup: RolesAnywhereSetup, *args: str, home: Path | None = None,
         **env: str) -> tuple[bytes, bytes]:
    """stdout of the official helper and of ours; each must succeed."""
    official = run(binary, *args, env=official_env(setup, home, **env))
    assert official.returncode == 0, official.stderr
    mine = ours(*args, env=ours_env(setup, home, **env))
    assert mine.returncode == 0, mine.stderr
    return official.stdout, mine.stdout


def test_credential_process_json_has_the_same_shape(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    official, mine = both(aws_signing_helper, setup, "credential-process",
                          *credential_args(setup))
    assert not official.endswith(b"\n") and not mine.endswith(b"\n")
    assert b" " not in official and b" " not in mine  # compact, as Go's json.Marshal
    theirs_doc, our_doc = json.loads(official), json.loads(mine)
    assert list(theirs_doc) == list(our_doc)
    assert {k: type(v) for k, v in theirs_doc.items()} == {k: type(v) for k, v in our_doc.items()}
    for doc in (theirs_doc, our_doc):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["Expiration"])


@pytest.mark.parametrize("key", ["ec-p384", "rsa-2048"])
def test_sec1_and_pkcs1_key_files_work_for_both(
        aws_signing_helper: Path, setup: RolesAnywhereSetup,
        certificates: dict[str, ClientCertificate], key: str, tmp_path: Path) -> None:
    cert = certificates[key]
    traditional = tmp_path / "traditional.key"
    traditional.write_text(cert.issued.key.to_pem(traditional=True))
    traditional.chmod(0o600)
    header = "EC PRIVATE KEY" if key.startswith("ec") else "RSA PRIVATE KEY"
    assert traditional.read_text().startswith(f"-----BEGIN {header}-----")
    args = credential_args(setup, cert)
    args[args.index("--private-key") + 1] = str(traditional)
    official, mine = both(aws_signing_helper, setup, "credential-process", *args)
    assert list(json.loads(official)) == list(json.loads(mine))


@pytest.mark.parametrize("key", list(KEY_TYPES))
@pytest.mark.parametrize(("output", "digest"), [("json", None), ("text", "SHA384"),
                                                ("bin", "SHA512")])
def test_sign_string_prints_the_same_format_and_signs_the_same_string(
        aws_signing_helper: Path, setup: RolesAnywhereSetup,
        certificates: dict[str, ClientCertificate], key: str, output: str,
        digest: str | None) -> None:
    cert = certificates[key]
    args = ["sign-string", "--certificate", str(cert.certificate_path), "--private-key",
            str(cert.private_key_path)]
    if output != "json":  # json is the default of both
        args += ["--format", output]
    if digest:
        args += ["--digest", digest]
    official, mine = both(aws_signing_helper, setup, *args)
    if key.startswith("rsa"):  # PKCS#1 v1.5 is deterministic: the very same bytes
        assert official == mine
    signed = signing_test_string(cert.certificate)
    label = "RSA" if key.startswith("rsa") else "ECDSA"
    for out in (official, mine):
        if output == "json":
            hex_signature = json.loads(out)
            assert out == json.dumps(hex_signature).encode()
        elif output == "text":
            hex_signature = out.decode()
            assert re.fullmatch(r"[0-9a-f]+", hex_signature)
        else:
            hex_signature = out.hex()
        verify_request_signature(cert.certificate, f"AWS4-X509-{label}-{digest or 'SHA256'}",
                                 signed, hex_signature, lenient=digest is not None)


@pytest.mark.parametrize("key", list(KEY_TYPES))
def test_read_certificate_data_prints_the_same_bytes(
        aws_signing_helper: Path, setup: RolesAnywhereSetup,
        certificates: dict[str, ClientCertificate], key: str) -> None:
    cert = certificates[key]
    official, mine = both(aws_signing_helper, setup, "read-certificate-data",
                          "--certificate", str(cert.certificate_path))
    assert official == mine
    assert json.loads(official)["serialNumber"] == cert.certificate.serial_decimal


def test_serve_answers_the_same_role_and_credential_keys(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    args = ["serve", *credential_args(setup), "--port", "0"]
    runs = [Background(*args, env=official_env(setup, tmp_path),
                       program=[str(aws_signing_helper)]),
            Background(*args, env=ours_env(setup, tmp_path), program=HELPER)]
    answers = []
    try:
        for serving in runs:
            url = serving.wait_for("export AWS_EC2_METADATA_SERVICE_ENDPOINT=").split("=", 1)[1]
            auth = {"x-aws-ec2-metadata-token": token(url, "120")}
            _, _, role = imds(url, "latest/meta-data/iam/security-credentials/", headers=auth)
            _, _, body = imds(url, "latest/meta-data/iam/security-credentials/roleport-test",
                              headers=auth)
            answers.append((role, json.loads(body)))
    finally:
        for serving in runs:
            serving.stop()
    (their_role, theirs), (our_role, mine) = answers
    assert their_role == our_role == b"roleport-test"
    # same keys; ours in real IMDS's order and indentation, the Go helper in its struct's
    assert sorted(theirs) == sorted(mine)
    assert theirs["Code"] == mine["Code"] == "Success"
    assert theirs["Type"] == mine["Type"] == "AWS-HMAC"


CREDENTIALS = """[default]
aws_access_key_id = AKIADEFAULT

[roleport]
aws_access_key_id = OLD
region = us-east-1"""


def test_update_writes_the_same_profile_and_ours_keeps_the_last_line(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    texts = []
    for name in ("official", "ours"):
        path = tmp_path / f"{name}-credentials"
        path.write_text(CREDENTIALS)
        env = {"AWS_SHARED_CREDENTIALS_FILE": str(path)}
        args = ["update", *credential_args(setup), "--profile", "roleport", "--once"]
        done = run(aws_signing_helper, *args, env=official_env(setup, tmp_path, **env)) \
            if name == "official" else ours(*args, env=ours_env(setup, tmp_path, **env))
        assert done.returncode == 0, done.stderr
        texts.append(path.read_text())
    shapes = [re.sub(r"(aws_[a-z_]+) = (ASIA\S+|\S{40,})", r"\1 = <new>", text)
              for text in texts]
    theirs, mine = ([line for line in shape.splitlines() if line] for shape in shapes)
    assert [line for line in theirs if "<new>" in line] == \
        [line for line in mine if "<new>" in line]
    assert theirs[:3] == mine[:3] == ["[default]", "aws_access_key_id = AKIADEFAULT",
                                      "[roleport]"]
    # the Go helper drops the last line of the file when it is in the profile it rewrites
    assert "region = us-east-1" not in theirs and "region = us-east-1" in mine
