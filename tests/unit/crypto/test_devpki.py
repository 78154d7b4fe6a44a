from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roleport.crypto import devpki
from roleport.crypto.certificates import check_trust_anchor_certificate, load_pem_bundle
from roleport.crypto.errors import CertificateError, CrlError, KeyLoadError

from .conftest import Pki


def test_root_ca_defaults(pki: Pki) -> None:
    root = devpki.create_root_ca(key=pki.ec_root.key)
    cert = root.certificate
    assert cert.subject_dn == cert.issuer_dn == "CN=Roleport Dev Root CA"
    assert cert.is_ca and cert.is_self_issued and cert.is_issued_by(cert)
    assert root.chain == () and root.root == cert and root.intermediates == []
    assert cert.not_after - cert.not_before >= timedelta(days=3650)
    check_trust_anchor_certificate(cert)


@pytest.mark.parametrize("key_type", ["ec", "rsa", "mldsa"])
def test_roots_of_every_key_type_sign_intermediates_and_leaves(pki: Pki, key_type: str) -> None:
    root = pki.root_for(key_type)
    inter = devpki.create_intermediate_ca(root, key_type=key_type,
                                          **({"key": pki.rsa_key_2} if key_type == "rsa" else {}))
    leaf = devpki.issue_leaf(inter, key_type="ec")
    assert leaf.certificate.is_issued_by(inter.certificate)
    assert inter.certificate.is_issued_by(root.certificate)
    assert leaf.chain == (inter.certificate, root.certificate)
    assert leaf.intermediates == [inter.certificate]
    assert leaf.root == root.certificate
    assert load_pem_bundle(leaf.fullchain_pem) == [leaf.certificate, inter.certificate,
                                                   root.certificate]
    assert load_pem_bundle(leaf.chain_pem) == list(leaf.chain)


def test_intermediate_chain_links_each_ca_to_the_previous(pki: Pki) -> None:
    chain = devpki.create_intermediate_chain(pki.ec_root, 3, key=pki.ec_intermediate.key)
    assert [c.certificate.common_name for c in chain] == [
        "Roleport Dev Intermediate CA 1", "Roleport Dev Intermediate CA 2",
        "Roleport Dev Intermediate CA 3"]
    parents = [pki.ec_root, *chain[:-1]]
    pairs = zip(chain, parents, strict=True)
    assert all(c.certificate.is_issued_by(p.certificate) for c, p in pairs)
    assert len(chain[-1].chain) == 3  # two intermediates above it, then the root


def test_leaf_with_pinned_clock_and_serial(pki: Pki) -> None:
    now = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    cert = devpki.issue_leaf(pki.ec_root, now=now, days=10, serial=42).certificate
    assert cert.not_before == now - devpki.BACKDATE
    assert cert.not_after == now + timedelta(days=10)
    assert cert.serial == 42


def test_san_only_leaf_has_empty_subject_and_critical_san(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, cn=None, sans=[("URI", "spiffe://x/y")]).certificate
    assert cert.subject_is_empty and cert.san_uris == ["spiffe://x/y"]
    san = [e for e in cert._x509.extensions if e.oid.dotted_string == "2.5.29.17"]
    assert san[0].critical  # RFC 5280 4.2.1.6: critical when the subject is empty


def test_subject_as_rfc4514_string(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, subject="CN=bob,OU=Eng,O=Org,C=GB").certificate
    assert cert.subject_attributes == [("C", "GB"), ("O", "Org"), ("OU", "Eng"), ("CN", "bob")]


def test_leaf_without_aki_and_ski(pki: Pki) -> None:
    cert = devpki.issue_leaf(pki.ec_root, omit_aki=True, omit_ski=True).certificate
    assert cert.authority_key_identifier is None and cert.subject_key_identifier is None


def test_server_certificate_has_hostnames_ips_and_server_auth(pki: Pki) -> None:
    server = devpki.issue_server_certificate(pki.ec_root, hostnames=["localhost", "rp.test"])
    cert = server.certificate
    assert cert.common_name == "localhost"
    assert cert.san_dns == ["localhost", "rp.test"]
    assert cert.san_ips == ["127.0.0.1", "::1"]
    assert cert.extended_key_usage == ["1.3.6.1.5.5.7.3.1"]
    assert cert.key_usage == frozenset({"digital_signature"})
    assert cert.authority_key_identifier == pki.ec_root.certificate.subject_key_identifier


def test_rsa_server_certificate_allows_key_encipherment(pki: Pki) -> None:
    cert = devpki.issue_server_certificate(pki.ec_root, key=pki.rsa_key).certificate
    assert cert.key_usage == frozenset({"digital_signature", "key_encipherment"})


@pytest.mark.parametrize(("options", "message"), [
    ({"sans": ["nodns"]}, "needs a type prefix"),
    ({"sans": ["X400:foo"]}, "unknown subjectAltName type"),
    ({"sans": ["IP:not-an-ip"]}, "cannot issue certificate"),
    ({"key_usage": {"signing"}}, "unknown key usage"),
    ({"extended_key_usage": ["everything"]}, "unknown extended key usage"),
    ({"hash": "whirlpool"}, "unknown hash"),
    ({"subject": [("NOPE", "x")]}, "cannot issue certificate: unknown name attribute"),
    ({"cn": "x" * 65}, "cannot issue certificate"),
    ({"not_before": datetime(2030, 1, 2, tzinfo=UTC),
      "not_after": datetime(2030, 1, 1, tzinfo=UTC)}, "cannot issue certificate"),
    ({"version": 2}, "version 2"),
])
def test_bad_options_raise_certificate_error(pki: Pki, options: dict[str, object],
                                             message: str) -> None:
    with pytest.raises(CertificateError, match=message):
        devpki.issue_leaf(pki.ec_root, key=pki.ec_root.key, **options)  # type: ignore[arg-type]


def test_unknown_key_type_raises_key_load_error(pki: Pki) -> None:
    with pytest.raises(KeyLoadError, match="unknown key type"):
        devpki.issue_leaf(pki.ec_root, key_type="dsa")


def test_create_crl_rejects_unknown_hash(pki: Pki) -> None:
    with pytest.raises(CrlError, match="unsupported CRL hash"):
        devpki.create_crl(pki.ec_root, hash="md4")


def test_save_writes_pem_files_and_private_key_mode_0600(pki: Pki, tmp_path: Path) -> None:
    leaf = devpki.issue_leaf(pki.ec_intermediate)
    files = devpki.save(leaf, tmp_path / "out", "client")
    assert files.certificate.read_text() == leaf.cert_pem
    assert files.chain is not None and files.chain.read_text() == leaf.chain_pem
    assert files.fullchain.read_text() == leaf.fullchain_pem
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    again = devpki.load_issued(files.certificate, files.key, files.chain)
    assert again.certificate == leaf.certificate and again.chain == leaf.chain


def test_save_tightens_mode_of_an_existing_key_file(pki: Pki, tmp_path: Path) -> None:
    key_path = tmp_path / "ca.key"
    key_path.write_text("old")
    os.chmod(key_path, 0o644)
    devpki.save(pki.ec_root, tmp_path, "ca")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert "old" not in key_path.read_text()


def test_root_saved_without_chain_file(pki: Pki, tmp_path: Path) -> None:
    files = devpki.save(pki.ec_root, tmp_path, "ca")
    assert files.chain is None and not (tmp_path / "ca-chain.pem").exists()


@pytest.mark.parametrize("ca", ["ec_root", "ec_intermediate", "mldsa_root"])
def test_load_ca_reloads_a_saved_ca_that_can_still_issue(pki: Pki, tmp_path: Path,
                                                         ca: str) -> None:
    original = getattr(pki, ca)
    devpki.save(original, tmp_path, "ca")
    loaded = devpki.load_ca(tmp_path)
    assert loaded.certificate == original.certificate and loaded.chain == original.chain
    leaf = devpki.issue_leaf(loaded)
    assert leaf.certificate.is_issued_by(original.certificate)


def test_load_ca_with_encrypted_key(pki: Pki, tmp_path: Path) -> None:
    devpki.save(pki.ec_root, tmp_path, "ca", password="s3cret")
    assert "ENCRYPTED" in (tmp_path / "ca.key").read_text()
    with pytest.raises(KeyLoadError, match="passphrase is required"):
        devpki.load_ca(tmp_path)
    assert devpki.load_ca(tmp_path, password="s3cret").certificate == pki.ec_root.certificate


def test_load_ca_refuses_a_leaf(pki: Pki, tmp_path: Path) -> None:
    devpki.save(devpki.issue_leaf(pki.ec_root), tmp_path, "ca")
    with pytest.raises(CertificateError, match="is not a CA certificate"):
        devpki.load_ca(tmp_path)


def test_load_ca_refuses_a_key_of_another_certificate(pki: Pki, tmp_path: Path) -> None:
    devpki.save(pki.ec_root, tmp_path, "ca")
    (tmp_path / "ca.key").write_text(pki.other_root.key_pem)
    with pytest.raises(KeyLoadError, match="does not match certificate CN=Test EC Root"):
        devpki.load_ca(tmp_path)


def test_load_ca_reports_missing_files(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="cannot read"):
        devpki.load_ca(tmp_path)
