"""The CreateSession refusal corpus, as data: hostile or broken requests and AWS's answer.

Each :class:`Case` says how to build one request against a fresh account (a trust anchor
of the session PKI's root, a role and a profile: :class:`~.clients.support.Setup`), and
what the server must answer: the status, code and message AWS gives (aws-behaviour §2.9),
the check that refuses it (the ``check`` of the audit line, see domain/sessions), and
whether the signature verifies (only then may a subject row be written). It is replayed by
``test_refusal_corpus.py`` (through the server) and by ``test_explain.py`` (``roleport
explain`` must agree with the server on every case it applies to).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from roleport.crypto import devpki
from roleport.crypto.devpki import IssuedCertificate

from .clients.support import Setup, trust_policy
from .refusal_builders import (
    Attempt,
    Headers,
    World,
    authorization,
    b64,
    dsa_leaf,
    header,
    now,
    send,
    signature_hex,
    with_critical_extension,
)

__all__ = ["CASES", "CASE_IDS", "Attempt", "Case", "World", "send"]

INVALID_SIGNATURE = "Invalid signature"
SKEW = "Invalid signature: the request time is more than 5 minutes away from the server's"
NOT_FOUND = "Specified Trust Anchor wasn't found."
BAD_PROFILE = "Invalid or empty profile provided."
UNTRUSTED = "Untrusted signing certificate"
UNCHECKED = "Untrusted signing certificate: the revocation status could not be checked."
NOT_IN_PROFILE = "Requested Role isn't one of those listed in the Profile."
NO_SESSION_NAME = "Not authorized to set roleSessionName"


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[World], Attempt]
    message: str
    check: str | None
    #: the signature verifies and the trust anchor exists: the attempt is on the subject
    recorded: bool
    status: int = 403
    code: str = "AccessDeniedException"
    #: the message is a prefix of what the server says (it adds a precise tail)
    prefix: bool = False
    #: ``roleport explain`` applies (not wire-level damage it never sees)
    explain: bool = True
    #: run against a ``--strict-signing`` server
    strict: bool = False
    #: the CA of the trust anchor: an attribute of the session PKI (tests/conftest.py)
    anchor: str = "root"


# -- helpers --------------------------------------------------------------------------------


def _intermediate(world: World, **options: Any) -> IssuedCertificate:
    return devpki.create_intermediate_ca(world.root, "Corpus Issuing CA", **options)


def _via(world: World, **options: Any) -> Attempt:
    """A leaf under an intermediate made with ``options``, the chain sent."""
    return Attempt(world.leaf("below", _intermediate(world, **options)))


def _disable_anchor(world: World) -> Attempt:
    world.setup.ra.disable_trust_anchor(trustAnchorId=world.setup.trust_anchor["trustAnchorId"])
    return Attempt(world.leaf())


def _disable_profile(world: World) -> Attempt:
    world.setup.ra.disable_profile(profileId=world.setup.profile["profileId"])
    return Attempt(world.leaf())


def _elsewhere(world: World) -> Setup:
    """The same kind of resources in another account of the same server."""
    setup = world.setup
    return Setup(setup.server, setup.server.new_account(), setup.anchors)


def _import_crl(world: World, issuer: IssuedCertificate, *serials: int) -> None:
    world.setup.ra.import_crl(name="crl", enabled=True,
                              crlData=devpki.create_crl(issuer, revoked=list(serials)).pem.encode(),
                              trustAnchorArn=world.setup.arns["trustAnchorArn"])


def _revoked_leaf(world: World) -> Attempt:
    leaf = world.leaf("revoked")
    _import_crl(world, world.root, leaf.certificate.serial)
    return Attempt(leaf)


def _revoked_intermediate(world: World) -> Attempt:
    inter = _intermediate(world)
    _import_crl(world, world.root, inter.certificate.serial)
    return Attempt(world.leaf("below-revoked", inter))


def _distribution_point(world: World, name: str, crl: bytes | None,
                        revoke: bool = False) -> Attempt:
    setup = world.setup
    setup.ra.update_trust_anchor(trustAnchorId=setup.trust_anchor["trustAnchorId"],
                                 crlDpRevocationEnabled=True)
    leaf = world.leaf(name, crl_distribution_points=[f"{world.crl_base}/{name}.crl"])
    if revoke:
        crl = devpki.create_crl(world.root, revoked=[leaf.certificate.serial]).der
    if crl is not None:
        world.crl_routes[f"/{name}.crl"] = crl
    return Attempt(leaf)


def _stale_crl(world: World) -> Attempt:
    stale = devpki.create_crl(world.root, last_update=now() - timedelta(days=9),
                              next_update=now() - timedelta(days=2)).der
    return _distribution_point(world, "stale", stale)


def _role_in_profile(world: World, role_arn: str, **profile: Any) -> None:
    setup = world.setup
    setup.ra.update_profile(profileId=setup.profile["profileId"], roleArns=[role_arn],
                            **profile)


def _anchor_elsewhere(world: World) -> Attempt:
    """This account's trust anchor id, in an ARN of another (existing) account."""
    other = _elsewhere(world).account.account_id
    arn = world.setup.arns["trustAnchorArn"].replace(world.setup.account.account_id, other)
    return Attempt(world.leaf(), body={"trustAnchorArn": arn})


def _ed25519_leaf(world: World) -> Attempt:
    leaf = world.leaf("ed", key_type="ed25519")
    return Attempt(leaf, sign=leaf.key._key.sign, algorithm="AWS4-X509-ECDSA-SHA256")


def _ou_policy(world: World) -> Attempt:
    role = world.setup.role("ops-only", policy=trust_policy(condition={
        "StringEquals": {"aws:PrincipalTag/x509Subject/OU": "ops"}}))
    _role_in_profile(world, role)
    return Attempt(world.leaf(subject=[("OU", "dev"), ("CN", "deployer")]),
                   body={"roleArn": role})


def _named(world: World, name: str) -> Attempt:
    world.setup.ra.update_profile(profileId=world.setup.profile["profileId"],
                                  acceptRoleSessionName=True)
    return Attempt(world.leaf(), body={"roleSessionName": name})


def _long_duration(world: World) -> Attempt:
    world.setup.ra.update_profile(profileId=world.setup.profile["profileId"],
                                  durationSeconds=7200)
    return Attempt(world.leaf(), body={"durationSeconds": 7200})


def _other_ca_same_name(world: World) -> Attempt:
    impostor = devpki.create_root_ca(world.root.certificate.common_name)
    return Attempt(world.leaf("impostor", impostor))


def _six_in_header(world: World) -> Attempt:
    inter = _intermediate(world)
    unrelated = [devpki.create_intermediate_ca(world.pki.other_root, f"Unrelated {i}")
                 .certificate for i in range(5)]
    return Attempt(world.leaf("crowded", inter), chain=[inter.certificate, *unrelated])


def _duplicates(world: World) -> Attempt:
    inter = _intermediate(world)
    return Attempt(world.leaf("twice", inter), chain=[inter.certificate] * 2)


def _path_length(world: World) -> Attempt:
    first = _intermediate(world, path_length=0)
    second = devpki.create_intermediate_ca(first, "Corpus Second CA")
    return Attempt(world.leaf("too-deep", second))


def _anchor_as_leaf(world: World) -> Attempt:
    return Attempt(world.root)


def _base64_of_pem(world: World) -> Attempt:
    leaf = world.leaf()
    return Attempt(leaf, tamper=header("x-amz-x509", b64(leaf.cert_pem.encode())))


def _truncated_der(world: World) -> Attempt:
    leaf = world.leaf()
    return Attempt(leaf, tamper=header("x-amz-x509", b64(leaf.certificate.der[:200])))


def _twice(world: World) -> Attempt:
    other = world.leaf("other").certificate.der_base64

    def tamper(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
        return [*headers, ("x-amz-x509", other)], body
    return Attempt(world.leaf(), tamper=tamper)


def _chain_value(value: str) -> Callable[[World], Attempt]:
    def make(world: World) -> Attempt:
        inter = _intermediate(world)
        return Attempt(world.leaf("chained", inter), tamper=header("x-amz-x509-chain", value))
    return make


def _other_body(world: World) -> Attempt:
    def tamper(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
        return headers, body.replace(b'"roleArn"', b' "roleArn"')
    return Attempt(world.leaf(), tamper=tamper)


def _case(id: str, make: Callable[[World], Attempt], message: str, check: str | None,
          recorded: bool, **more: Any) -> Case:
    return Case(id, make, message, check, recorded, **more)


def _leaf(**options: Any) -> Callable[[World], Attempt]:
    return lambda world: Attempt(world.leaf(**options))


def _sig(id: str, make: Callable[[World], Attempt], **more: Any) -> Case:
    """Refused at the signature: AWS says only "Invalid signature"; nothing recorded."""
    more.setdefault("explain", False)
    return _case(id, make, INVALID_SIGNATURE, "signature", False, **more)


def _tampered(tamper: Callable[[Headers, bytes], tuple[Headers, bytes]],
              **attempt: Any) -> Callable[[World], Attempt]:
    return lambda world: Attempt(world.leaf(), tamper=tamper, **attempt)


def _untrusted(id: str, make: Callable[[World], Attempt], **more: Any) -> Case:
    return _case(id, make, UNTRUSTED, "certificate", True, **more)


_GARBAGE_DER = b64(b"\x30\x03\x02\x01\x01")
_LONG_DER = b64(b"\x30\x82\xff\xff" + b"\0" * 64)


def _scope_date(world: World) -> Attempt:
    """The credential scope dated another day than X-Amz-Date."""
    return Attempt(world.leaf(), tamper=authorization(
        lambda v: re.sub(r"(Credential=\d+)/\d{8}/", r"\1/20200101/", v)))


CASES: list[Case] = [
    # -- the certificate headers, the key and the signature ------------------------------
    _sig("x509-header-not-base64", _tampered(header("x-amz-x509", "!!!"))),
    _sig("x509-header-not-der", _tampered(header("x-amz-x509", _GARBAGE_DER))),
    _sig("x509-header-truncated-der", _truncated_der),
    _sig("x509-header-length-beyond-data", _tampered(header("x-amz-x509", _LONG_DER))),
    _sig("x509-header-base64-of-pem", _base64_of_pem),
    _sig("x509-header-missing", _tampered(header("x-amz-x509", None))),
    _sig("x509-header-twice-with-different-values", _twice),
    _case("x509-header-over-64-kib", _leaf(sans=[
        f"DNS:host-{i:05d}.very-long-subdomain.example.com" for i in range(1400)]),
        "The request headers exceed 65536 bytes.", None, False, status=431,
        code="ValidationException", explain=False),
    _sig("chain-header-not-base64", _chain_value("!!!")),
    _sig("chain-header-not-der", _chain_value(_GARBAGE_DER)),
    _sig("chain-header-length-beyond-data", _chain_value(_LONG_DER)),
    _sig("key-does-not-match-the-leaf",
         lambda world: Attempt(world.leaf(), key=world.leaf("other").key), explain=True),
    _sig("signature-over-another-body", _other_body),
    _sig("signature-over-another-header-value",
         _tampered(header("content-type", "application/x-amz-json-1.0"))),
    _sig("credential-serial-of-another-certificate", lambda world: Attempt(
        world.leaf(), credential=world.leaf("other").certificate.serial_decimal)),
    _sig("credential-scope-service-sts",
         _tampered(authorization(lambda v: v.replace("/rolesanywhere/", "/sts/")))),
    _sig("credential-scope-date-not-the-request-date", _scope_date),
    _sig("algorithm-name-unknown", lambda world: Attempt(
        world.leaf(), algorithm="AWS4-X509-DSA-SHA256")),
    _sig("algorithm-name-rsa-for-an-ec-key",
         lambda world: Attempt(world.leaf(), algorithm="AWS4-X509-RSA-SHA256")),
    _case("algorithm-hmac-with-certificate-headers",
          lambda world: Attempt(world.leaf(), algorithm="AWS4-HMAC-SHA256"),
          "The security token included in the request is invalid.", None, False,
          code="UnrecognizedClientException", explain=False),
    _sig("signature-truncated", _tampered(signature_hex(lambda s: s[:-16]))),
    _sig("signature-odd-length", _tampered(signature_hex(lambda s: s[:-1]))),
    _sig("signature-not-hex", _tampered(signature_hex(lambda s: "zz" + s[2:]))),
    _sig("signature-empty", _tampered(signature_hex(lambda s: ""))),
    _sig("leaf-ed25519-key", _ed25519_leaf),
    _sig("leaf-dsa-key", dsa_leaf),
    _sig("certificate-header-not-signed-strict",
         lambda world: Attempt(world.leaf(), signed_headers=[
             "content-type", "host", "x-amz-date"]), strict=True),
    _case("clock-6-minutes-behind", lambda world: Attempt(
        world.leaf(), skew=-timedelta(minutes=6)), SKEW, "clock-skew", False, prefix=True,
        explain=False),
    _case("clock-6-minutes-ahead", lambda world: Attempt(
        world.leaf(), skew=timedelta(minutes=6)), SKEW, "clock-skew", False, prefix=True,
        explain=False),
    # -- trust anchor and profile -----------------------------------------------------------
    _case("scope-region-not-the-trust-anchors", lambda world: Attempt(
        world.leaf(), region="eu-west-1"), NOT_FOUND, "trust-anchor", False, explain=False),
    _case("trust-anchor-unknown", lambda world: Attempt(world.leaf(), body={
        "trustAnchorArn": world.setup.arns["trustAnchorArn"][:-12] + "000000000000"}),
        NOT_FOUND, "trust-anchor", False, explain=False),
    _case("trust-anchor-named-in-another-account", _anchor_elsewhere, NOT_FOUND,
          "trust-anchor", False, explain=False),
    _case("trust-anchor-disabled", _disable_anchor, NOT_FOUND, "trust-anchor", True),
    _case("profile-unknown", lambda world: Attempt(world.leaf(), body={
        "profileArn": world.setup.arns["profileArn"][:-12] + "000000000000"}),
        BAD_PROFILE, "profile", True, explain=False),
    _case("profile-of-another-account", lambda world: Attempt(world.leaf(), body={
        "profileArn": _elsewhere(world).arns["profileArn"]}), BAD_PROFILE, "profile", True),
    _case("profile-disabled", _disable_profile, BAD_PROFILE, "profile", True),
    # -- the certificate path -----------------------------------------------------------------
    _untrusted("leaf-of-an-untrusted-ca", lambda world: Attempt(world.leaf(
        "stranger", world.pki.other_root))),
    _untrusted("leaf-of-another-key-under-the-anchors-name", _other_ca_same_name),
    _untrusted("leaf-expired-a-second-ago", lambda world: Attempt(world.leaf(
        "expired", not_before=now() - timedelta(days=3), not_after=now() - timedelta(
            seconds=1)))),
    _untrusted("leaf-valid-in-ten-seconds", lambda world: Attempt(world.leaf(
        "early", not_before=now() + timedelta(seconds=10)))),
    _untrusted("intermediate-expired-a-second-ago", lambda world: _via(
        world, not_before=now() - timedelta(days=3),
        not_after=now() - timedelta(seconds=1))),
    _untrusted("intermediate-valid-in-ten-seconds", lambda world: _via(
        world, not_before=now() + timedelta(seconds=10))),
    _untrusted("leaf-is-a-ca", _leaf(is_ca=True, key_usage={"digital_signature",
                                                            "key_cert_sign"})),
    _untrusted("leaf-is-the-trust-anchors-ca", _anchor_as_leaf),
    _untrusted("intermediate-without-basic-constraints",
               lambda world: _via(world, basic_constraints=False)),
    _untrusted("intermediate-with-ca-false", lambda world: _via(world, is_ca=False)),
    _untrusted("path-length-exceeded", _path_length),
    _untrusted("leaf-with-an-unknown-critical-extension", lambda world: Attempt(
        with_critical_extension(world.root, "critical", is_ca=False))),
    _untrusted("intermediate-with-an-unknown-critical-extension", lambda world: Attempt(
        world.leaf("below", with_critical_extension(world.root, "Critical CA", is_ca=True)))),
    _untrusted("leaf-signed-with-sha1", _leaf(hash="sha1")),
    _untrusted("leaf-signed-with-md5", lambda world: Attempt(world.leaf(
        "md5", world.pki.rsa_root, hash="md5")), anchor="rsa_root"),
    _untrusted("intermediate-signed-with-sha1", lambda world: _via(world, hash="sha1")),
    _untrusted("leaf-rsa-1024", _leaf(key_type="rsa", key_size=1024)),
    _untrusted("leaf-without-digital-signature", _leaf(key_usage={"key_agreement"})),
    _untrusted("leaf-without-key-usage", _leaf(key_usage=None)),
    _untrusted("leaf-x509-version-1", _leaf(version=1)),
    _case("leaf-with-an-empty-subject", _leaf(cn=None, sans=["DNS:empty.example"]),
          UNTRUSTED, "certificate", False),
    _untrusted("chain-of-six-intermediates", lambda world: Attempt(world.leaf(
        "deep", devpki.create_intermediate_chain(world.root, 6)[-1]))),
    _untrusted("chain-header-of-six-certificates", _six_in_header),
    _untrusted("chain-header-with-duplicates-strict", _duplicates, strict=True),
    # -- revocation -------------------------------------------------------------------------
    _case("leaf-revoked-by-an-imported-crl", _revoked_leaf, UNTRUSTED, "revocation", True),
    _case("intermediate-revoked-by-an-imported-crl", _revoked_intermediate, UNTRUSTED,
          "revocation", True),
    _case("leaf-revoked-at-its-crl-distribution-point", lambda world: _distribution_point(
        world, "revoked", None, revoke=True), UNTRUSTED, "revocation", True),
    _case("stale-crl-at-the-distribution-point", _stale_crl, UNCHECKED, "revocation", True),
    _case("crl-distribution-point-unreachable", lambda world: _distribution_point(
        world, "missing", None), UNCHECKED, "revocation", True),
    # -- role, session name, tags, trust policy -------------------------------------------
    _case("role-not-in-the-profile", lambda world: Attempt(world.leaf(), body={
        "roleArn": world.setup.role("elsewhere")}), NOT_IN_PROFILE, "role", True),
    _case("role-session-name-not-accepted", lambda world: Attempt(world.leaf(), body={
        "roleSessionName": "build-42"}), NO_SESSION_NAME, "role-session-name", True),
    _case("role-of-another-account", lambda world: Attempt(world.leaf(), body={
        "roleArn": _elsewhere(world).role_arn}), NOT_IN_PROFILE, "role", True),
    _case("trust-policy-requires-another-ou", _ou_policy, "Unable to assume role for ",
          "assume-role", True, prefix=True),
    _case("duration-above-the-roles-maximum", _long_duration, "Unable to assume role for ",
          "assume-role", True, prefix=True),
    _case("role-session-name-of-one-character", lambda world: _named(world, "a"),
          "1 validation error detected: Value 'a' at 'roleSessionName' failed", None, False,
          status=400, code="ValidationException", prefix=True, explain=False),
    _case("role-session-name-with-a-slash", lambda world: _named(world, "build/42"),
          "1 validation error detected: Value 'build/42' at 'roleSessionName' failed", None,
          False, status=400, code="ValidationException", prefix=True, explain=False),
    _case("session-tag-value-invalid", _leaf(cn="bad (cn)"), "Unable to assume role for ",
          "session-tags", True, prefix=True),
    # -- the body ---------------------------------------------------------------------------
    _case("duration-below-900", lambda world: Attempt(world.leaf(), body={
        "durationSeconds": 899}), "1 validation error detected", None, False, status=400,
        code="ValidationException", prefix=True, explain=False),
    _case("duration-above-43200", lambda world: Attempt(world.leaf(), body={
        "durationSeconds": 43201}), "1 validation error detected", None, False, status=400,
        code="ValidationException", prefix=True, explain=False),
    _case("body-not-json", lambda world: Attempt(world.leaf(), raw_body=b"nope"),
          "The request body is not valid JSON.", None, False, status=400,
          code="SerializationException", explain=False),
    _case("body-of-two-megabytes", lambda world: Attempt(world.leaf(), raw_body=(
        b'{"roleSessionName": "' + b"a" * 2_000_000 + b'"}')),
        "The request body is larger than the limit of 1048576 bytes.", None, False,
        status=400, code="ValidationException", explain=False),
]

CASE_IDS = [case.id for case in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS), "case ids must be distinct"
