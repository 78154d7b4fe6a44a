from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.crypto import devpki
from roleport.crypto.crls import Crl, load_crl, verify_crl_signed_by
from roleport.crypto.errors import CrlError

from .conftest import Pki


@pytest.fixture(scope="module")
def crl(pki: Pki) -> Crl:
    return devpki.create_crl(
        pki.ec_intermediate,
        revoked=[(1234, datetime(2030, 1, 1, tzinfo=UTC)), 99],
        last_update=datetime(2030, 1, 1, tzinfo=UTC),
        next_update=datetime(2030, 2, 1, tzinfo=UTC),
        crl_number=7,
    )


def test_load_crl_accepts_pem_text_pem_bytes_and_der(crl: Crl) -> None:
    assert load_crl(crl.pem) == crl
    assert load_crl(crl.pem.encode()) == crl
    assert load_crl(crl.der) == crl
    assert crl.pem.startswith("-----BEGIN X509 CRL-----\n")


def test_crl_fields(crl: Crl) -> None:
    assert crl.issuer_dn == "CN=Test EC Intermediate"
    assert crl.issuer_attributes == [("CN", "Test EC Intermediate")]
    assert crl.last_update == datetime(2030, 1, 1, tzinfo=UTC)
    assert crl.next_update == datetime(2030, 2, 1, tzinfo=UTC)
    assert crl.crl_number == 7
    assert crl.signature_hash == "sha256"
    assert crl.signature_algorithm == "ecdsa-with-SHA256"
    assert crl.authority_key_identifier is not None


def test_crl_revoked_serials(crl: Crl) -> None:
    assert crl.revoked_serials == frozenset({1234, 99})
    assert crl.is_revoked(1234) and crl.is_revoked(99) and not crl.is_revoked(1235)
    assert crl.revocation_date(1234) == datetime(2030, 1, 1, tzinfo=UTC)
    assert crl.revocation_date(5) is None


def test_empty_crl_revokes_nothing(pki: Pki) -> None:
    empty = devpki.create_crl(pki.ec_root)
    assert empty.revoked_serials == frozenset() and not empty.is_revoked(1)


def test_crl_is_stale_after_next_update(crl: Crl) -> None:
    assert not crl.is_stale(datetime(2030, 2, 1, tzinfo=UTC))
    assert crl.is_stale(datetime(2030, 2, 1, tzinfo=UTC) + timedelta(seconds=1))


def test_crl_is_issued_by_name_of_certificates_issuer(pki: Pki, crl: Crl) -> None:
    leaf = devpki.issue_leaf(pki.ec_intermediate, key=pki.ec_root.key).certificate
    assert crl.is_issued_by_name_of(leaf)
    assert not crl.is_issued_by_name_of(pki.ec_intermediate.certificate)


@pytest.mark.parametrize("data", [
    b"", b"garbage", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    b"\x30\x03\x02\x01\x01",
])
def test_load_crl_rejects_garbage(data: bytes | str) -> None:
    with pytest.raises(CrlError) as caught:
        load_crl(data)
    assert caught.value.message == "CRL could not be parsed"  # the library's words: detail
    assert caught.value.detail


def test_load_crl_rejects_a_certificate(pki: Pki) -> None:
    with pytest.raises(CrlError, match="^CRL could not be parsed"):
        load_crl(pki.ec_root.certificate.der)


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_load_crl_of_random_input_raises_only_crl_error(data: bytes | str) -> None:
    with pytest.raises(CrlError):
        load_crl(data)


@pytest.mark.parametrize("issuer", ["ec_root", "rsa_root", "mldsa_root"])
def test_verify_crl_signed_by_returns_the_signing_ca(pki: Pki, issuer: str) -> None:
    ca = getattr(pki, issuer)
    signed = devpki.create_crl(ca, revoked=[5])
    cas = [pki.other_root.certificate, ca.certificate]
    assert verify_crl_signed_by(signed, cas) == ca.certificate


def test_verify_crl_signed_by_picks_the_ca_whose_key_signed_among_same_named(pki: Pki) -> None:
    twin = devpki.create_root_ca("Test EC Root")  # same name, new key (a re-keyed CA)
    signed = devpki.create_crl(twin)
    assert verify_crl_signed_by(signed, [pki.ec_root.certificate, twin.certificate]) == \
        twin.certificate


def test_verify_crl_signed_by_rejects_crl_of_another_ca(pki: Pki, crl: Crl) -> None:
    with pytest.raises(CrlError, match="^CRL is not signed by a CA certificate of the trust "
                                       "anchor .*issuer matches no CA subject"):
        verify_crl_signed_by(crl, [pki.ec_root.certificate, pki.other_root.certificate])


def test_verify_crl_signed_by_rejects_forged_signature(pki: Pki) -> None:
    forged = devpki.create_crl(pki.ec_root, revoked=[1], signer=pki.other_root.key)
    with pytest.raises(CrlError, match="not signed by a CA certificate.*signature matches none"):
        verify_crl_signed_by(forged, [pki.ec_root.certificate])


def test_verify_crl_signed_by_rejects_empty_ca_list(crl: Crl) -> None:
    with pytest.raises(CrlError, match="not signed by a CA certificate"):
        verify_crl_signed_by(crl, [])
