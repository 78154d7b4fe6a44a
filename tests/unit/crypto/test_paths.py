from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.crypto import devpki
from roleport.crypto.certificates import Certificate
from roleport.crypto.devpki import IssuedCertificate
from roleport.crypto.errors import PathValidationError
from roleport.crypto.paths import TrustStore, check_not_revoked, validate_path

from .conftest import KEY_TYPES, Pki


@dataclass(frozen=True)
class Chain:
    """root -> intermediate -> leaf of one key type."""

    root: IssuedCertificate
    intermediate: IssuedCertificate
    leaf: IssuedCertificate

    @property
    def store(self) -> TrustStore:
        return TrustStore([self.root.certificate])


@pytest.fixture(scope="module")
def chains(pki: Pki) -> dict[str, Chain]:
    result = {}
    for key_type in KEY_TYPES:
        root = pki.root_for(key_type)
        extra = {"key": pki.rsa_key_2} if key_type == "rsa" else {}
        intermediate = devpki.create_intermediate_ca(root, f"{key_type} issuing CA",
                                                     key_type=key_type, **extra)
        leaf = devpki.issue_leaf(intermediate, f"{key_type} client", key_type=key_type,
                                 **({"key": pki.rsa_key} if key_type == "rsa" else {}))
        result[key_type] = Chain(root, intermediate, leaf)
    return result


@pytest.fixture(scope="module")
def ec(chains: dict[str, Chain]) -> Chain:
    return chains["ec"]


def _path(chain: list[Certificate]) -> list[str]:
    return [c.subject_dn for c in chain]


NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _now_is_when_the_test_runs() -> None:
    """NOW is the time each test starts, not the time the module was collected: the
    certificates are issued when a test first needs them, valid from 5 minutes before, and
    the suite may reach this module well after collecting it."""
    global NOW
    NOW = datetime.now(UTC)

# -- accepted paths -----------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_path_through_an_intermediate_to_a_root(chains: dict[str, Chain], key_type: str) -> None:
    c = chains[key_type]
    chain = validate_path(c.leaf.certificate, [c.intermediate.certificate], c.store, NOW)
    assert chain == [c.leaf.certificate, c.intermediate.certificate, c.root.certificate]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_leaf_issued_directly_by_the_anchor(pki: Pki, key_type: str) -> None:
    leaf = pki.leaf(key_type).certificate
    root = pki.root_for(key_type).certificate
    assert validate_path(leaf, [], TrustStore([root]), NOW) == [leaf, root]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_intermediate_ca_can_be_the_trust_anchor(chains: dict[str, Chain], key_type: str) -> None:
    c = chains[key_type]
    store = TrustStore([c.intermediate.certificate])
    assert validate_path(c.leaf.certificate, [], store, NOW) == [c.leaf.certificate,
                                                                 c.intermediate.certificate]


def test_anchor_with_root_and_intermediate_uses_either(ec: Chain) -> None:
    store = TrustStore([ec.root.certificate, ec.intermediate.certificate])
    chain = validate_path(ec.leaf.certificate, [ec.intermediate.certificate], store, NOW)
    assert chain[0] == ec.leaf.certificate and chain[-1] in store


def test_anchor_with_two_unrelated_cas(pki: Pki, ec: Chain) -> None:
    store = TrustStore([pki.other_root.certificate, ec.root.certificate])
    assert validate_path(ec.leaf.certificate, [ec.intermediate.certificate], store, NOW)[-1] \
        == ec.root.certificate


def test_intermediates_in_any_order_with_duplicates_leaf_root_and_extras(
        pki: Pki, chains: dict[str, Chain]) -> None:
    c = chains["ec"]
    extras = [chains["rsa"].intermediate.certificate, pki.other_root.certificate,
              chains["mldsa"].leaf.certificate]
    sent = [c.root.certificate, *extras, c.intermediate.certificate, c.leaf.certificate,
            c.intermediate.certificate]
    assert validate_path(c.leaf.certificate, sent, c.store, NOW) == [
        c.leaf.certificate, c.intermediate.certificate, c.root.certificate]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_arrangement_of_a_long_chain_validates(pki: Pki, data: st.DataObject) -> None:
    cas = _long_chain(pki, 4)
    leaf = _leaf_of(cas)
    decoys = [pki.other_root.certificate, pki.ec_intermediate.certificate]
    bag = [ca.certificate for ca in cas] + decoys
    sent = data.draw(st.lists(st.sampled_from(bag), min_size=0, max_size=10))
    sent = data.draw(st.permutations([*sent, *(ca.certificate for ca in cas)]))
    chain = validate_path(leaf, sent, TrustStore([pki.ec_root.certificate]), NOW)
    assert chain == [leaf, *(ca.certificate for ca in reversed(cas)), pki.ec_root.certificate]


@pytest.mark.parametrize("options", [
    {"cn": "cn-only"},  # the default leaf: no subjectAltName at all
    {"cn": None, "sans": ["URI:spiffe://example.org/san-only"]},
    {"omit_aki": True},
    {"omit_aki": True, "omit_ski": True},
    {"extended_key_usage": ["server_auth"]},
    {"extended_key_usage": None},
    {"sans": ["DNS:a.example", "IP:10.0.0.1", "email:a@example.com"]},
], ids=["cn-only", "san-only", "no-aki", "no-aki-no-ski", "server-eku", "no-eku", "mixed-san"])
def test_roles_anywhere_leaves_that_the_web_pki_profile_would_refuse(ec: Chain,
                                                                     options: dict) -> None:
    leaf = devpki.issue_leaf(ec.intermediate, key=ec.leaf.key, **options).certificate
    assert validate_path(leaf, [ec.intermediate.certificate], ec.store, NOW)[0] == leaf


def test_intermediate_without_aki_and_ski(pki: Pki) -> None:
    inter = devpki.create_intermediate_ca(pki.ec_root, "no-ids", omit_aki=True, omit_ski=True,
                                          key=pki.ec_intermediate.key)
    leaf = devpki.issue_leaf(inter, omit_aki=True, key=pki.ec_root.key).certificate
    assert len(validate_path(leaf, [inter.certificate],
                             TrustStore([pki.ec_root.certificate]), NOW)) == 3


@pytest.mark.parametrize(("curve", "hash_name"), [("secp384r1", "sha384"),
                                                  ("secp521r1", "sha512")])
def test_larger_curves_and_hashes(pki: Pki, curve: str, hash_name: str) -> None:
    inter = devpki.create_intermediate_ca(pki.ec_root, curve=curve, hash=hash_name)
    leaf = devpki.issue_leaf(inter, curve=curve, hash=hash_name).certificate
    assert len(validate_path(leaf, [inter.certificate],
                             TrustStore([pki.ec_root.certificate]), NOW)) == 3


def test_mixed_key_types_along_the_path(pki: Pki) -> None:
    inter = devpki.create_intermediate_ca(pki.mldsa_root, "ec under ml-dsa")
    leaf = devpki.issue_leaf(inter, key_type="mldsa", mldsa_variant="ML-DSA-87").certificate
    chain = validate_path(leaf, [inter.certificate], TrustStore([pki.mldsa_root.certificate]),
                          NOW)
    assert [c.key_type for c in chain] == ["ML-DSA", "EC", "ML-DSA"]


def test_rsa_chain_signed_with_sha512(pki: Pki) -> None:
    leaf = devpki.issue_leaf(pki.rsa_root, hash="sha512").certificate
    assert validate_path(leaf, [], TrustStore([pki.rsa_root.certificate]), NOW)[-1] == \
        pki.rsa_root.certificate


# -- chain length -------------------------------------------------------------------------


def _long_chain(pki: Pki, count: int) -> list[IssuedCertificate]:
    return devpki.create_intermediate_chain(pki.ec_root, count, key=pki.ec_intermediate.key)


def _leaf_of(cas: list[IssuedCertificate]) -> Certificate:
    return devpki.issue_leaf(cas[-1], key=cas[0].key).certificate


@pytest.mark.parametrize("count", [0, 1, 5])
def test_up_to_five_intermediates_are_accepted(pki: Pki, count: int) -> None:
    cas = _long_chain(pki, count)
    leaf = devpki.issue_leaf(cas[-1] if cas else pki.ec_root).certificate
    chain = validate_path(leaf, [ca.certificate for ca in cas],
                          TrustStore([pki.ec_root.certificate]), NOW)
    assert len(chain) == count + 2


@pytest.mark.parametrize("count", [6, 8])
def test_more_than_five_intermediates_are_refused(pki: Pki, count: int) -> None:
    cas = _long_chain(pki, count)
    with pytest.raises(PathValidationError,
                       match=f"^chain longer than 5 intermediate certificates "
                             rf"\(the shortest path to the trust anchor has {count}\)$"):
        validate_path(_leaf_of(cas), [ca.certificate for ca in cas],
                      TrustStore([pki.ec_root.certificate]), NOW)


def test_max_chain_is_configurable(pki: Pki) -> None:
    cas = _long_chain(pki, 3)
    store = TrustStore([pki.ec_root.certificate])
    leaf = _leaf_of(cas)
    sent = [ca.certificate for ca in cas]
    assert len(validate_path(leaf, sent, store, NOW, max_chain=3)) == 5
    with pytest.raises(PathValidationError, match="^chain longer than 2 intermediate"):
        validate_path(leaf, sent, store, NOW, max_chain=2)


def test_long_chain_is_fine_when_the_anchor_is_deep_in_it(pki: Pki) -> None:
    cas = _long_chain(pki, 7)
    store = TrustStore([cas[2].certificate])  # 4 intermediates below the anchor
    chain = validate_path(_leaf_of(cas), [ca.certificate for ca in cas], store, NOW)
    assert len(chain) == 6 and chain[-1] == cas[2].certificate


# -- refused paths ------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_expired_leaf_is_refused(chains: dict[str, Chain], key_type: str) -> None:
    c = chains[key_type]
    leaf = devpki.issue_leaf(c.intermediate, key_type=key_type, not_before=NOW - timedelta(days=9),
                             not_after=NOW - timedelta(days=1)).certificate
    with pytest.raises(PathValidationError, match=r"^certificate has expired \(CN=roleport-dev"):
        validate_path(leaf, [c.intermediate.certificate], c.store, NOW)


def test_not_yet_valid_leaf_is_refused(ec: Chain) -> None:
    leaf = devpki.issue_leaf(ec.intermediate, not_before=NOW + timedelta(hours=1)).certificate
    with pytest.raises(PathValidationError, match=r"^certificate is not yet valid \(CN="):
        validate_path(leaf, [ec.intermediate.certificate], ec.store, NOW)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_expired_intermediate_is_refused(pki: Pki, key_type: str) -> None:
    root = pki.root_for(key_type)
    inter = devpki.create_intermediate_ca(root, "Old CA", not_before=NOW - timedelta(days=9),
                                          not_after=NOW - timedelta(days=1))
    leaf = devpki.issue_leaf(inter, not_after=NOW + timedelta(days=1)).certificate
    with pytest.raises(PathValidationError,
                       match=r"^certificate has expired \(CN=Old CA, notAfter"):
        validate_path(leaf, [inter.certificate], TrustStore([root.certificate]), NOW)


def test_not_yet_valid_intermediate_is_refused(pki: Pki) -> None:
    inter = devpki.create_intermediate_ca(pki.ec_root, "Future CA",
                                          not_before=NOW + timedelta(days=1))
    leaf = devpki.issue_leaf(inter, not_before=NOW - timedelta(days=1)).certificate
    with pytest.raises(PathValidationError, match=r"^certificate is not yet valid \(CN=Future CA"):
        validate_path(leaf, [inter.certificate], TrustStore([pki.ec_root.certificate]), NOW)


def test_expired_anchor_is_refused(pki: Pki) -> None:
    root = devpki.create_root_ca("Expired Root", not_before=NOW - timedelta(days=9),
                                 not_after=NOW - timedelta(days=1), key=pki.ec_root.key)
    leaf = devpki.issue_leaf(root, not_before=NOW - timedelta(days=2)).certificate
    with pytest.raises(PathValidationError, match=r"^certificate has expired \(CN=Expired Root"):
        validate_path(leaf, [], TrustStore([root.certificate]), NOW)


def test_leaf_of_another_ca_has_no_path(pki: Pki, ec: Chain) -> None:
    stranger = devpki.issue_leaf(pki.other_root).certificate
    with pytest.raises(PathValidationError,
                       match="^no path to a CA certificate of the trust anchor: no certificate "
                             "named CN=Unrelated Root"):
        validate_path(stranger, [ec.intermediate.certificate], ec.store, NOW)


def test_missing_intermediate_means_no_path(ec: Chain) -> None:
    with pytest.raises(PathValidationError, match="^no path to a CA certificate of the trust "
                                                  "anchor: no certificate named CN=ec issuing CA"):
        validate_path(ec.leaf.certificate, [], ec.store, NOW)


def test_impostor_intermediate_with_the_right_name_is_refused(ec: Chain) -> None:
    impostor = devpki.create_root_ca("ec issuing CA")  # same name, self-signed, other key
    leaf = devpki.issue_leaf(impostor).certificate
    with pytest.raises(PathValidationError, match="^no path to a CA certificate of the trust "
                                                  "anchor"):
        validate_path(leaf, [ec.intermediate.certificate], ec.store, NOW)


def test_forged_signature_on_leaf_is_refused(pki: Pki, ec: Chain) -> None:
    forger = devpki.create_intermediate_ca(pki.other_root, "ec issuing CA")
    leaf = devpki.issue_leaf(forger).certificate  # issuer name matches ec's intermediate
    with pytest.raises(PathValidationError, match="signature of CN=roleport-dev-client does "
                                                  "not verify with the key of CN=ec issuing CA"):
        validate_path(leaf, [ec.intermediate.certificate], ec.store, NOW)


def test_path_length_constraint_is_enforced(pki: Pki) -> None:
    root = devpki.create_root_ca("PathLen0 Root", path_length=0, key=pki.ec_root.key)
    inter = devpki.create_intermediate_ca(root, "Below PathLen0")
    leaf = devpki.issue_leaf(inter).certificate
    with pytest.raises(PathValidationError, match="^path length constraint violated: "
                                                  "CN=PathLen0 Root allows 0"):
        validate_path(leaf, [inter.certificate], TrustStore([root.certificate]), NOW)


def test_path_length_zero_still_allows_issuing_leaves(pki: Pki) -> None:
    inter = devpki.create_intermediate_ca(pki.ec_root, "PathLen0 CA", path_length=0)
    leaf = devpki.issue_leaf(inter).certificate
    assert len(validate_path(leaf, [inter.certificate],
                             TrustStore([pki.ec_root.certificate]), NOW)) == 3


@pytest.mark.parametrize(("options", "message"), [
    ({"key_usage": {"crl_sign", "digital_signature"}},
     r"^CA certificate keyUsage must include keyCertSign \(CN=Bad CA\)$"),
    ({"key_usage": None}, r"^CA certificate keyUsage must include keyCertSign"),
    ({"is_ca": False, "key_usage": {"key_cert_sign"}},
     r"^issuer is not a CA: basicConstraints CA must be true \(CN=Bad CA\)$"),
    ({"basic_constraints": False}, r"^issuer is not a CA"),
    ({"hash": "sha1"}, r"^certificate signature algorithm ecdsa-with-SHA1 uses SHA1: SHA-256 or "
                       r"stronger is required \(CN=Bad CA\)$"),
    ({"version": 1}, r"^CA certificate is X.509 version 1: version 3 required \(CN=Bad CA\)$"),
], ids=["no-key-cert-sign", "no-key-usage", "not-ca", "no-basic-constraints", "sha1", "v1"])
def test_intermediate_that_cannot_issue_is_refused(pki: Pki, options: dict,
                                                   message: str) -> None:
    inter = devpki.create_intermediate_ca(pki.ec_root, "Bad CA", key=pki.ec_intermediate.key,
                                          **options)
    leaf = devpki.issue_leaf(inter).certificate
    with pytest.raises(PathValidationError, match=message):
        validate_path(leaf, [inter.certificate], TrustStore([pki.ec_root.certificate]), NOW)


@pytest.mark.parametrize("hash_name", ["sha1", "md5"])
def test_leaf_signed_with_a_weak_hash_is_refused(pki: Pki, hash_name: str) -> None:
    leaf = devpki.issue_leaf(pki.rsa_root, hash=hash_name).certificate
    with pytest.raises(PathValidationError, match=f"uses {hash_name.upper()}: SHA-256 or "
                                                  r"stronger is required \(CN=roleport-dev"):
        validate_path(leaf, [], TrustStore([pki.rsa_root.certificate]), NOW)


def test_weak_ca_key_is_refused_with_the_verifiers_reason(pki: Pki) -> None:
    inter = devpki.create_intermediate_ca(pki.rsa_root, "Weak CA", key=pki.rsa_1024)
    leaf = devpki.issue_leaf(inter).certificate
    with pytest.raises(PathValidationError) as caught:
        validate_path(leaf, [inter.certificate], TrustStore([pki.rsa_root.certificate]), NOW)
    assert caught.value.message == "certificate path rejected by the verifier"
    assert "weak" in (caught.value.detail or "")


def test_ed25519_ca_is_refused_with_a_readable_reason() -> None:
    root = devpki.create_root_ca("Ed CA", key_type="ed25519")
    leaf = devpki.issue_leaf(root).certificate
    with pytest.raises(PathValidationError) as caught:
        validate_path(leaf, [], TrustStore([root.certificate]), NOW)
    assert caught.value.message == "certificate path rejected by the verifier"
    assert "Ed25519" in caught.value.full and "PhantomData" not in caught.value.full


def test_the_anchor_itself_is_not_a_signing_certificate(ec: Chain) -> None:
    with pytest.raises(PathValidationError, match="is itself a CA certificate of the trust"):
        validate_path(ec.root.certificate, [], ec.store, NOW)


def test_empty_trust_store_refuses_everything(ec: Chain) -> None:
    with pytest.raises(PathValidationError, match="the trust anchor has no CA certificate"):
        validate_path(ec.leaf.certificate, [ec.intermediate.certificate], TrustStore([]), NOW)


def test_validate_path_requires_aware_now(ec: Chain) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_path(ec.leaf.certificate, [], ec.store, datetime(2030, 1, 1))


def test_cross_signed_loops_in_the_bundle_terminate(pki: Pki) -> None:
    key = pki.ec_intermediate.key
    a = devpki.create_root_ca("Loop A", key=key)
    loop = [devpki.create_intermediate_ca(a, "Loop A", key=key) for _ in range(6)]
    leaf = devpki.issue_leaf(a).certificate
    with pytest.raises(PathValidationError, match="no path to a CA certificate"):
        validate_path(leaf, [c.certificate for c in loop] + [a.certificate],
                      TrustStore([pki.ec_root.certificate]), NOW)


# -- trust store --------------------------------------------------------------------------


def test_trust_store_is_a_value(pki: Pki) -> None:
    a = TrustStore([pki.ec_root.certificate, pki.rsa_root.certificate, pki.ec_root.certificate])
    b = TrustStore([pki.rsa_root.certificate, pki.ec_root.certificate])
    assert a == b and hash(a) == hash(b) and len(a) == 2
    assert a.anchors == (pki.ec_root.certificate, pki.rsa_root.certificate)
    assert pki.ec_root.certificate in a and pki.other_root.certificate not in a
    assert a != TrustStore([pki.ec_root.certificate])
    assert "CN=Test EC Root" in repr(a)


# -- revocation ---------------------------------------------------------------------------


def test_revoked_leaf_is_refused(ec: Chain) -> None:
    chain = validate_path(ec.leaf.certificate, [ec.intermediate.certificate], ec.store, NOW)
    crl = devpki.create_crl(ec.intermediate, revoked=[ec.leaf.certificate.serial])
    with pytest.raises(PathValidationError,
                       match=f"^certificate serial {ec.leaf.certificate.serial} is revoked by "
                             "CRL issued by CN=ec issuing CA"):
        check_not_revoked(chain, [crl])


def test_revoked_intermediate_is_refused(ec: Chain) -> None:
    chain = validate_path(ec.leaf.certificate, [ec.intermediate.certificate], ec.store, NOW)
    root_crl = devpki.create_crl(ec.root, revoked=[ec.intermediate.certificate.serial])
    with pytest.raises(PathValidationError, match=r"revoked by CRL issued by CN=Test EC Root "
                                                  r"\(CN=ec issuing CA\)"):
        check_not_revoked(chain, [devpki.create_crl(ec.intermediate), root_crl])


def test_same_serial_on_another_issuers_crl_does_not_revoke(pki: Pki, ec: Chain) -> None:
    chain = validate_path(ec.leaf.certificate, [ec.intermediate.certificate], ec.store, NOW)
    other = devpki.create_crl(pki.other_root, revoked=[ec.leaf.certificate.serial])
    root_crl = devpki.create_crl(ec.root, revoked=[ec.leaf.certificate.serial])
    check_not_revoked(chain, [other, root_crl])  # the root did not issue the leaf


def test_no_crls_revoke_nothing(ec: Chain) -> None:
    chain = validate_path(ec.leaf.certificate, [ec.intermediate.certificate], ec.store, NOW)
    check_not_revoked(chain, [])
    check_not_revoked(chain, [devpki.create_crl(ec.intermediate, revoked=[1, 2, 3])])
