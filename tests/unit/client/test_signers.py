"""Signers: every key format the helper reads, the chain it sends, and the errors it
gives for each mistake."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from roleport.client.errors import ConfigurationError, SignerError
from roleport.client.signers import FileSigner, Pkcs12Signer, build_chain, open_signer
from roleport.crypto import devpki
from roleport.crypto.signatures import verify_request_signature

DATA = b"AWS4-X509-ECDSA-SHA256\n20260101T000000Z\nscope\nhash"


def verifies(signer) -> bool:  # noqa: ANN001
    signature = signer.sign(DATA)
    return bool(verify_request_signature(signer.certificate, signer.algorithm, DATA,
                                         signature.hex(), lenient=False) == set())


@pytest.mark.parametrize("key", ["alice.key", "alice-traditional.key", "alice.der"])
def test_file_signer_reads_pkcs8_sec1_and_der_ec_keys(files, key) -> None:
    signer = FileSigner(files.path("alice.pem"), files.path(key))
    assert signer.algorithm == "AWS4-X509-ECDSA-SHA256"
    assert signer.certificate == files.leaf.certificate
    assert verifies(signer)


@pytest.mark.parametrize("key", ["bob.key", "bob-pkcs1.key"])
def test_file_signer_reads_pkcs8_and_pkcs1_rsa_keys(files, key) -> None:
    signer = FileSigner(files.path("bob.pem"), files.path(key))
    assert signer.algorithm == "AWS4-X509-RSA-SHA256"
    assert verifies(signer)


def test_file_signer_signs_with_ml_dsa(files) -> None:
    signer = FileSigner(files.path("carol.pem"), files.path("carol.key"))
    assert signer.algorithm == "AWS4-X509-MLDSA"
    assert verifies(signer)


def test_encrypted_pkcs8_key_opens_with_its_passphrase(files) -> None:
    signer = FileSigner(files.path("alice.pem"), files.path("alice-enc.key"), password="s3cret")
    assert verifies(signer)


def test_encrypted_key_without_passphrase_names_the_flag_and_the_variable(files) -> None:
    with pytest.raises(SignerError) as caught:
        FileSigner(files.path("alice.pem"), files.path("alice-enc.key"))
    assert "--pkcs8-password" in caught.value.message
    assert "ROLEPORT_PKCS8_PASSWORD" in caught.value.message


def test_encrypted_key_asks_the_prompt_when_there_is_one(files) -> None:
    asked = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "s3cret"

    signer = FileSigner(files.path("alice.pem"), files.path("alice-enc.key"), prompt=prompt)
    assert verifies(signer) and len(asked) == 1 and "alice-enc.key" in asked[0]


def test_wrong_passphrase_is_reported_as_such(files) -> None:
    with pytest.raises(SignerError, match="wrong passphrase"):
        FileSigner(files.path("alice.pem"), files.path("alice-enc.key"), password="nope")


def test_key_that_does_not_match_the_certificate_is_refused(files) -> None:
    with pytest.raises(SignerError, match="does not match the certificate CN=alice"):
        FileSigner(files.path("alice.pem"), files.path("bob.key"))


def test_missing_files_are_named(files) -> None:
    with pytest.raises(SignerError, match=r"certificate file .*nope\.pem does not exist"):
        FileSigner(files.path("nope.pem"), files.path("alice.key"))
    with pytest.raises(SignerError, match=r"private key file .*nope\.key does not exist"):
        FileSigner(files.path("alice.pem"), files.path("nope.key"))


def test_a_certificate_file_that_is_not_a_certificate_is_refused(files) -> None:
    with pytest.raises(SignerError, match="no PEM certificate found"):
        FileSigner(files.path("alice.key"), files.path("alice.key"))


def test_fullchain_certificate_file_gives_the_leaf_and_its_chain(files) -> None:
    signer = FileSigner(files.path("alice-fullchain.pem"), files.path("alice.key"))
    assert signer.certificate == files.leaf.certificate
    assert signer.chain == [files.intermediate.certificate]


def test_chain_drops_the_leaf_the_root_duplicates_and_strangers_and_orders_by_issuer(
        files) -> None:
    signer = FileSigner(files.path("alice.pem"), files.path("alice.key"),
                        files.path("messy-chain.pem"))
    assert signer.chain == [files.intermediate.certificate]


def test_chain_longer_than_five_is_refused() -> None:
    root = devpki.create_root_ca("R")
    chain = devpki.create_intermediate_chain(root, 6)
    leaf = devpki.issue_leaf(chain[-1], "deep")
    assert len(build_chain(leaf.certificate, [c.certificate for c in chain[1:]])) == 5
    with pytest.raises(SignerError, match="at most 5"):
        build_chain(leaf.certificate, [c.certificate for c in reversed(chain)])


def test_file_signer_picks_up_rotated_files(files, tmp_path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "c.key"
    shutil.copy(files.path("alice.pem"), cert)
    shutil.copy(files.path("alice.key"), key)
    signer = FileSigner(cert, key)
    rotated = devpki.issue_leaf(files.intermediate, "alice")
    key.write_text(rotated.key_pem)
    cert.write_text(rotated.cert_pem)
    later = datetime.now().timestamp() + 5
    os.utime(cert, (later, later))
    signer.refresh()
    assert signer.certificate == rotated.certificate and verifies(signer)


def test_expired_certificate_is_reported_before_any_request(files, tmp_path) -> None:
    now = datetime.now(UTC)
    old = devpki.issue_leaf(files.root, "old", not_before=now - timedelta(days=3),
                            not_after=now - timedelta(days=1))
    saved = devpki.save(old, tmp_path, "old")
    signer = FileSigner(saved.certificate, saved.key)
    with pytest.raises(SignerError, match="CN=old .*expired"):
        signer.check_valid()


def test_pkcs12_without_password(files) -> None:
    signer = Pkcs12Signer(files.path("alice.p12"))
    assert signer.certificate == files.leaf.certificate
    assert signer.chain == [files.intermediate.certificate]
    assert verifies(signer)


def test_pkcs12_with_password_from_argument_or_prompt(files) -> None:
    assert verifies(Pkcs12Signer(files.path("alice-pw.p12"), password="pw"))
    assert verifies(Pkcs12Signer(files.path("alice-pw.p12"), prompt=lambda _: "pw"))


def test_pkcs12_password_missing_or_wrong(files) -> None:
    with pytest.raises(SignerError, match="--pkcs12-password or ROLEPORT_PKCS12_PASSWORD"):
        Pkcs12Signer(files.path("alice-pw.p12"))
    with pytest.raises(SignerError, match="wrong PKCS#12 password"):
        Pkcs12Signer(files.path("alice-pw.p12"), password="bad")


def test_open_signer_refuses_to_run_without_a_certificate() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_signer(certificate=None, private_key=None)
    assert "--certificate" in caught.value.message
    assert "never falls back to an OS certificate store" in caught.value.message
    assert caught.value.exit_code == 2


def test_open_signer_picks_the_implementation_from_the_flags(files) -> None:
    assert isinstance(open_signer(certificate=files.path("alice.pem"),
                                  private_key=files.path("alice.key")), FileSigner)
    assert isinstance(open_signer(certificate=files.path("alice.p12")), Pkcs12Signer)
    combined = open_signer(certificate=files.path("combined.pem"))
    assert isinstance(combined, FileSigner) and verifies(combined)
    with pytest.raises(ConfigurationError, match="--private-key is missing"):
        open_signer(certificate=files.path("alice.pem"))


def test_tpm_keys_are_refused_clearly(files, tmp_path) -> None:
    with pytest.raises(SignerError, match="TPM"):
        open_signer(certificate=files.path("alice.pem"), private_key="handle:0x81000001")
    tss = tmp_path / "tpm.key"
    tss.write_text("-----BEGIN TSS2 PRIVATE KEY-----\nAAAA\n-----END TSS2 PRIVATE KEY-----\n")
    with pytest.raises(SignerError, match="TPM 2.0 key"):
        open_signer(certificate=files.path("alice.pem"), private_key=str(tss))


def test_sign_with_other_digests(files) -> None:
    signer = FileSigner(files.path("bob.pem"), files.path("bob.key"))
    assert signer.sign(DATA, "sha384") != signer.sign(DATA, "sha256")
    with pytest.raises(ConfigurationError, match="unsupported digest"):
        signer.sign(DATA, "md5")
