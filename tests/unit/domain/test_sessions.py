"""CreateSession, check by check: every refusal says AWS's words to the caller, the exact
reason to the audit, and hands out no credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roleport.crypto import devpki
from roleport.domain.sessions import SessionAudit, SessionService, source_identity_for
from roleport.domain.trusted_identity import configured
from roleport.errors import AccessDeniedError
from roleport.sts.claims import OriginIdentity

from .conftest import REGION, World


def refused(world: World, request, service=None) -> tuple[str, SessionAudit]:
    audit = SessionAudit()
    calls = len(world.issuer.calls)
    with pytest.raises(AccessDeniedError) as info:
        (service or world.service()).create_session(request, audit)
    assert audit.outcome == "refused"
    if audit.check not in ("assume-role",):
        assert len(world.issuer.calls) == calls, "no credentials may be asked for"
    return info.value.message, audit


def setup(world: World, pki, **profile) -> tuple:
    anchor = world.anchor(pki.root)
    return anchor, world.profile(**profile)


# -- success --------------------------------------------------------------------------


def test_create_session_issues_credentials_with_aws_defaults(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "alice", sans=["DNS:alice.example"])
    result, audit = world.run(world.request(leaf, anchor, profile))
    call = world.issuer.calls[-1]
    serial_hex = leaf.certificate.serial_hex
    assert call.role_session_name == serial_hex
    assert call.duration_seconds == 3600
    assert call.source_identity == "CN=alice"
    assert call.principal_service == "rolesanywhere.amazonaws.com"
    assert call.context["aws:SourceArn"] == anchor.arn
    assert call.context["aws:SourceAccount"] == world.account_id
    assert call.context["aws:PrincipalTag/x509Subject/CN"] == "alice"
    assert ("x509SAN/DNS", "alice.example") in call.session_tags
    assert ("x509Issuer/CN", "Session Test Root CA") in call.session_tags
    assert result.role_arn == world.role_arn
    assert result.subject_arn.startswith(f"arn:aws:rolesanywhere:{REGION}:{world.account_id}:"
                                         "subject/")
    assert audit.outcome == "issued" and audit.check is None
    assert audit.leniencies == set()


def test_create_session_through_an_intermediate(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.intermediate, "bob", key_type="rsa", key=pki.rsa_key)
    result, _ = world.run(world.request(leaf, anchor, profile))
    assert result.credentials.access_key_id


def test_intermediate_as_trust_anchor_needs_no_chain(world: World, pki) -> None:
    anchor = world.anchor(pki.intermediate)
    profile = world.profile()
    leaf = devpki.issue_leaf(pki.intermediate, "carol")
    world.run(world.request(leaf, anchor, profile, credential=world.signed(leaf, chain=[])))


def test_alias_arns_are_accepted(world: World, pki) -> None:
    world.anchor(pki.root, alias="corp")
    profile = world.profile()
    leaf = devpki.issue_leaf(pki.root, "dave")
    from roleport.domain.sessions import SessionRequest
    alias = f"arn:aws:rolesanywhere:{REGION}:{world.account_id}:alias/trust-anchor/corp"
    world.run(SessionRequest(world.signed(leaf), alias, profile.arn, world.role_arn))


def test_duration_is_the_shorter_of_profile_and_request(world: World, pki) -> None:
    anchor, profile = setup(world, pki, duration_seconds=7200)
    leaf = devpki.issue_leaf(pki.root, "erin")
    world.run(world.request(leaf, anchor, profile, duration_seconds=1800))
    assert world.issuer.calls[-1].duration_seconds == 1800
    world.run(world.request(leaf, anchor, profile, duration_seconds=43200))
    assert world.issuer.calls[-1].duration_seconds == 7200


def test_duration_above_role_maximum_is_refused(world: World, pki) -> None:
    anchor, profile = setup(world, pki, duration_seconds=43200)
    world.issuer.max_session_duration = 3600
    leaf = devpki.issue_leaf(pki.root, "frank")
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == (f"Unable to assume role for {world.role_arn}. The requested "
                       "DurationSeconds exceeds the MaxSessionDuration set for this role.")
    assert audit.check == "assume-role"


def test_trust_policy_refusal_is_passed_on(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    world.issuer.refuse = "trust policy condition aws:PrincipalTag/x509Subject/CN is false"
    leaf = devpki.issue_leaf(pki.root, "grace")
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message.startswith(f"Unable to assume role for {world.role_arn}")
    assert audit.check == "assume-role" and "condition" in audit.reason


def test_session_policy_and_managed_policies_go_to_the_issuer(world: World, pki) -> None:
    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    anchor, profile = setup(world, pki, session_policy=policy,
                            managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    world.run(world.request(devpki.issue_leaf(pki.root, "h"), anchor, profile))
    call = world.issuer.calls[-1]
    assert call.session_policy == policy
    assert call.policy_arns == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


# -- trust anchor and profile ------------------------------------------------------------


def test_unknown_trust_anchor(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "x")
    request = world.request(leaf, anchor, profile)
    from dataclasses import replace
    bogus = replace(request, trust_anchor_arn=anchor.arn[:-4] + "0000")
    message, audit = refused(world, bogus)
    assert message == "Specified Trust Anchor wasn't found."
    assert audit.check == "trust-anchor"


def test_trust_anchor_of_another_region_is_not_found(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    from dataclasses import replace
    request = world.request(devpki.issue_leaf(pki.root, "x"), anchor, profile)
    other = replace(request, trust_anchor_arn=anchor.arn.replace(REGION, "eu-west-1"))
    assert refused(world, other)[0] == "Specified Trust Anchor wasn't found."


def test_disabled_trust_anchor(world: World, pki) -> None:
    anchor = world.anchor(pki.root, enabled=False)
    profile = world.profile()
    message, audit = refused(world, world.request(devpki.issue_leaf(pki.root, "x"), anchor,
                                                   profile))
    assert message == "Specified Trust Anchor wasn't found."
    assert "disabled" in audit.reason


def test_unknown_profile(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    from dataclasses import replace
    request = replace(world.request(devpki.issue_leaf(pki.root, "x"), anchor, profile),
                      profile_arn=profile.arn[:-4] + "0000")
    message, audit = refused(world, request)
    assert message == "Invalid or empty profile provided." and audit.check == "profile"


def test_disabled_profile(world: World, pki) -> None:
    anchor, profile = setup(world, pki, enabled=False)
    message, audit = refused(world, world.request(devpki.issue_leaf(pki.root, "x"), anchor,
                                                   profile))
    assert message == "Invalid or empty profile provided."
    assert "disabled" in audit.reason


def test_trust_anchor_is_checked_before_the_signature(world: World, pki) -> None:
    anchor = world.anchor(pki.root, enabled=False)
    profile = world.profile()
    leaf = devpki.issue_leaf(pki.root, "x")
    stale = world.signed(leaf, at=world.clock.now() - timedelta(hours=1))
    assert refused(world, world.request(leaf, anchor, profile, credential=stale))[1].check \
        == "trust-anchor"


# -- signature -----------------------------------------------------------------------------


def test_signature_by_another_key_is_invalid(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "mallory")
    impostor = devpki.issue_leaf(pki.root, "mallory")
    forged = world.signed(leaf, sign=impostor.key.sign)
    message, audit = refused(world, world.request(leaf, anchor, profile, credential=forged))
    assert message == "Invalid signature"
    assert audit.check == "signature" and "does not verify" in audit.reason


def test_clock_skew_has_its_own_helpful_message(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "slow-clock")
    stale = world.signed(leaf, at=world.clock.now() - timedelta(minutes=6))
    message, audit = refused(world, world.request(leaf, anchor, profile, credential=stale))
    assert message.startswith("Invalid signature: the request time is more than 5 minutes")
    assert "clock" in message and audit.check == "clock-skew"


def test_serial_in_credential_must_match_the_certificate(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "x")
    wrong = world.signed(leaf, credential="12345")
    message, audit = refused(world, world.request(leaf, anchor, profile, credential=wrong))
    assert message == "Invalid signature" and "serial" in audit.reason


def test_rsa_pss_is_a_counted_leniency_refused_when_strict(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "iamra", key_type="rsa", key=pki.rsa_key)
    pss = world.signed(leaf, sign=lambda d: leaf.key.sign_as(d, rsa_pss=True))
    _, audit = world.run(world.request(leaf, anchor, profile, credential=pss))
    assert audit.leniencies == {"rsa-pss"}
    strict = world.signed(leaf, sign=lambda d: leaf.key.sign_as(d, rsa_pss=True),
                          lenient=False)
    message, audit = refused(world, world.request(leaf, anchor, profile, credential=strict),
                             world.service(lenient=False))
    assert message == "Invalid signature" and "strict" in audit.reason


def test_sha384_label_is_a_counted_leniency(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "labelled", hash="sha384")
    labelled = world.signed(leaf, algorithm="AWS4-X509-ECDSA-SHA384")
    _, audit = world.run(world.request(leaf, anchor, profile, credential=labelled))
    assert audit.leniencies == {"algorithm-label"}
    strict = world.signed(leaf, algorithm="AWS4-X509-ECDSA-SHA384", lenient=False)
    assert refused(world, world.request(leaf, anchor, profile, credential=strict),
                   world.service(lenient=False))[0] == "Invalid signature"


# -- certificate ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "options", "reason"), [
    ("expired", {"not_before": "-2d", "not_after": "-1d"}, "expired"),
    ("not-yet-valid", {"not_before": "+1d", "not_after": "+2d"}, "not yet valid"),
    ("ca-leaf", {"is_ca": True, "key_usage": {"digital_signature", "key_cert_sign"}}, "CA"),
    ("no-digital-signature", {"key_usage": {"key_agreement"}}, "digitalSignature"),
    ("no-key-usage", {"key_usage": None}, "keyUsage"),
    ("sha1", {"hash": "sha1"}, "SHA1"),
    ("rsa-1024", {"key_type": "rsa", "key_size": 1024}, "1024"),
    ("v1", {"version": 1}, "version"),
])
def test_bad_leaf_is_untrusted(world: World, pki, name: str, options: dict,
                               reason: str) -> None:
    anchor, profile = setup(world, pki)
    now = world.clock.now()
    for key in ("not_before", "not_after"):
        if key in options:
            sign, days = options[key][0], int(options[key][1:-1])
            options[key] = now + timedelta(days=days if sign == "+" else -days)
    leaf = devpki.issue_leaf(pki.root, f"bad-{name}", **options)
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == "Untrusted signing certificate"
    assert audit.check == "certificate" and reason.lower() in audit.reason.lower()


def test_certificate_of_another_ca_is_untrusted(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.other_root, "stranger")
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == "Untrusted signing certificate"
    assert "no path" in audit.reason


def test_intermediate_missing_from_the_chain_is_untrusted(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.intermediate, "orphan")
    message, _ = refused(world, world.request(leaf, anchor, profile,
                                                  credential=world.signed(leaf, chain=[])))
    assert message == "Untrusted signing certificate"


def test_chain_of_six_is_refused(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    chain = devpki.create_intermediate_chain(pki.root, 6)
    leaf = devpki.issue_leaf(chain[-1], "deep")
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == "Untrusted signing certificate"
    assert "at most 5" in audit.reason


def test_chain_of_five_is_accepted(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    chain = devpki.create_intermediate_chain(pki.root, 5)
    leaf = devpki.issue_leaf(chain[-1], "deep-enough")
    world.run(world.request(leaf, anchor, profile))


def test_unordered_chain_with_extras_is_a_leniency(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    chain = devpki.create_intermediate_chain(pki.root, 2)
    leaf = devpki.issue_leaf(chain[-1], "messy")
    reversed_chain = [chain[0].certificate, chain[1].certificate]
    _, audit = world.run(world.request(leaf, anchor, profile, credential=world.signed(
        leaf, chain=reversed_chain)))
    assert audit.leniencies == {"chain-order"}
    messy = [leaf.certificate, chain[1].certificate, chain[1].certificate,
             pki.root.certificate, chain[0].certificate]
    _, audit = world.run(world.request(leaf, anchor, profile, credential=world.signed(
        leaf, chain=messy)))
    assert audit.leniencies == {"chain-extras"}
    strict = world.signed(leaf, chain=reversed_chain, lenient=False)
    message, audit = refused(world, world.request(leaf, anchor, profile, credential=strict),
                             world.service(lenient=False))
    assert message == "Untrusted signing certificate" and "strict" in audit.reason


# -- revocation ----------------------------------------------------------------------------


def test_revoked_by_imported_crl(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "revoked")
    crl = devpki.create_crl(pki.root, revoked=[leaf.certificate.serial])
    world.crls.import_crl(world.caller, name="crl", crl_data=crl.pem.encode(),
                          trust_anchor_arn=anchor.arn, enabled=True, tag_list=None,
                          alias_name=None)
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == "Untrusted signing certificate"
    assert audit.check == "revocation" and "revoked" in audit.reason


def test_disabled_crl_is_ignored(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "forgiven")
    crl = devpki.create_crl(pki.root, revoked=[leaf.certificate.serial])
    world.crls.import_crl(world.caller, name="crl", crl_data=crl.pem.encode(),
                          trust_anchor_arn=anchor.arn, enabled=False, tag_list=None,
                          alias_name=None)
    world.run(world.request(leaf, anchor, profile))


def test_revoked_by_distribution_point(world: World, pki) -> None:
    anchor = world.anchor(pki.root, crl_dp=True)
    profile = world.profile()
    url = "http://crl.test/root.crl"
    leaf = devpki.issue_leaf(pki.root, "dp-revoked", crl_distribution_points=[url])
    world.fetched[url] = devpki.create_crl(pki.root, revoked=[leaf.certificate.serial]).der
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == "Untrusted signing certificate"
    assert url in audit.reason


def test_distribution_point_is_cached_until_next_update(world: World, pki) -> None:
    anchor = world.anchor(pki.root, crl_dp=True)
    profile = world.profile()
    url = "http://crl.test/cached.crl"
    leaf = devpki.issue_leaf(pki.root, "dp-ok", crl_distribution_points=[url])
    world.fetched[url] = devpki.create_crl(pki.root, days=1).der
    service = world.service()
    _, audit = world.run(world.request(leaf, anchor, profile), service)
    world.run(world.request(leaf, anchor, profile), service)
    assert world.fetches == [url] and audit.crl_distribution_point == url
    world.clock.moment += timedelta(days=2)
    world.fetched[url] = devpki.create_crl(pki.root, days=7, now=world.clock.moment).der
    world.run(world.request(leaf, anchor, profile), service)
    assert world.fetches == [url, url]


def test_unreachable_distribution_point_fails_closed(world: World, pki) -> None:
    anchor = world.anchor(pki.root, crl_dp=True)
    profile = world.profile()
    leaf = devpki.issue_leaf(pki.root, "dp-down",
                             crl_distribution_points=["http://crl.test/down.crl"])
    message, audit = refused(world, world.request(leaf, anchor, profile))
    # the caller learns the outcome; what the server's network said is for the audit trail
    assert message == "Untrusted signing certificate: the revocation status could not be checked."
    assert "connection refused" in audit.reason and "crl.test" in audit.reason


def test_distribution_points_are_ignored_unless_enabled(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "dp-off", crl_distribution_points=["http://x/y.crl"])
    world.run(world.request(leaf, anchor, profile))
    assert world.fetches == []


# -- role, session name, tags --------------------------------------------------------------


def test_role_not_in_profile(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    other = f"arn:aws:iam::{world.account_id}:role/other"
    message, _ = refused(world, world.request(devpki.issue_leaf(pki.root, "x"), anchor,
                                                   profile, role_arn=other))
    assert message == "Requested Role isn't one of those listed in the Profile."


def test_role_session_name_refused_unless_profile_accepts(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "named")
    message, _ = refused(world, world.request(leaf, anchor, profile,
                                              role_session_name="my-session"))
    assert message == "Not authorized to set roleSessionName"
    accepting = world.profile(accept_role_session_name=True)
    world.run(world.request(leaf, anchor, accepting, role_session_name="my-session"))
    assert world.issuer.calls[-1].role_session_name == "my-session"


def test_invalid_tag_value_fails_by_default_and_drops_on_request(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "bad (value)", sans=["DNS:ok.example"])
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == (f"Unable to assume role for {world.role_arn}. Some attributes failed "
                       "to be mapped into session tags. Issuer: [  ]; Subject: [ CN ]; "
                       "SAN: [  ]")
    assert audit.check == "session-tags"
    _, audit = world.run(world.request(leaf, anchor, profile),
                         world.service(invalid_tag_values="drop"))
    assert audit.dropped_tags == ["x509Subject/CN"]
    assert "x509Subject/CN" not in dict(world.issuer.calls[-1].session_tags)


@pytest.mark.parametrize(("cn", "serial", "expected"), [
    ("alice", 1, "CN=alice"),
    ("a" * 61, 1, "CN=" + "a" * 61),
    ("b" * 62, 1, "b" * 62),
    (None, 291, "ID=0123"),
    (None, 17767, "ID=4567"),
])
def test_source_identity_rules(pki, cn: str | None, serial: int, expected: str) -> None:
    subject = [("CN", cn)] if cn else [("O", "no-cn")]
    leaf = devpki.issue_leaf(pki.root, subject=subject, serial=serial)
    assert source_identity_for(leaf.certificate) == expected


# -- subjects ------------------------------------------------------------------------------


def test_every_attempt_updates_the_subject(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "tracked")
    props = {"hostname": "build-7"}
    world.run(world.request(leaf, anchor, profile, instance_properties=props))
    other = f"arn:aws:iam::{world.account_id}:role/other"
    refused(world, world.request(leaf, anchor, profile, role_arn=other))
    second = devpki.issue_leaf(pki.root, "tracked")
    world.run(world.request(second, anchor, profile))
    subject = world.subject(leaf.certificate.subject_dn)
    assert [c.serial_number for c in subject.credentials] == [
        second.certificate.serial_decimal, leaf.certificate.serial_decimal]
    first = subject.credentials[1]
    assert first.failed is True and first.failure_reason.startswith("role:")
    assert first.x509_certificate_data == leaf.certificate.pem
    assert first.issuer == leaf.certificate.issuer_dn
    assert subject.credentials[0].failed is False
    assert subject.last_seen_at == world.clock.now()
    assert [p.properties for p in subject.instance_properties] == [props]


def test_unknown_trust_anchor_records_no_subject(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "nobody-knows")
    from dataclasses import replace
    refused(world, replace(world.request(leaf, anchor, profile),
                           trust_anchor_arn=anchor.arn[:-4] + "0000"))
    with world.store() as uow:
        assert not [s for s in uow.subjects.all(world.caller.scope)
                    if s.x509_subject == leaf.certificate.subject_dn]


def test_empty_subject_is_refused_and_records_no_subject(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, None, sans=["DNS:nameless.example"])
    message, audit = refused(world, world.request(leaf, anchor, profile))
    assert message == "Untrusted signing certificate" and "subject is empty" in audit.reason
    assert audit.subject_arn is None


def test_unauthenticated_attempts_write_no_subject(world: World, pki) -> None:
    """A forged signature, or a refused request whose signature does not verify, must not
    let anyone write subject records for a certificate they do not hold."""
    anchor, profile = setup(world, pki)
    victim = devpki.issue_leaf(pki.root, "victim")
    impostor = devpki.issue_leaf(pki.root, "impostor")
    forged = world.signed(victim, sign=impostor.key.sign)
    refused(world, world.request(victim, anchor, profile, credential=forged))
    disabled = world.profile(enabled=False)  # refused before the signature is checked
    refused(world, world.request(victim, anchor, disabled, credential=forged))
    with world.store() as uow:
        assert uow.subjects.count(world.caller.scope) == 0
    other = f"arn:aws:iam::{world.account_id}:role/other"
    # the holder of the key who asks for the wrong role is recorded
    refused(world, world.request(victim, anchor, profile, role_arn=other))
    assert world.subject(victim.certificate.subject_dn).credentials[0].failed is True


def test_repeated_successes_within_a_second_write_the_subject_once(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "busy")
    service = world.service()  # the memo lives in the service, as in a server process
    first_seen = world.clock.now()
    world.run(world.request(leaf, anchor, profile), service)
    world.clock.moment += timedelta(milliseconds=400)
    _, audit = world.run(world.request(leaf, anchor, profile), service)
    assert audit.subject_arn is not None
    assert world.subject(leaf.certificate.subject_dn).last_seen_at == first_seen
    world.clock.moment += timedelta(seconds=1)
    world.run(world.request(leaf, anchor, profile), service)
    assert world.subject(leaf.certificate.subject_dn).last_seen_at == world.clock.now()
    # a failure is always written, and the next success after it too
    other = f"arn:aws:iam::{world.account_id}:role/other"
    refused(world, world.request(leaf, anchor, profile, role_arn=other), service)
    assert world.subject(leaf.certificate.subject_dn).credentials[0].failed is True


def test_a_change_made_here_takes_effect_on_the_next_session(world: World, pki) -> None:
    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "fresh")
    service = world.service()
    world.run(world.request(leaf, anchor, profile), service)  # resources now kept
    world.profiles.set_enabled(world.caller, profile.id, False)
    assert refused(world, world.request(leaf, anchor, profile), service)[1].check == "profile"
    world.profiles.set_enabled(world.caller, profile.id, True)
    world.run(world.request(leaf, anchor, profile), service)


def test_a_change_made_elsewhere_is_seen_within_the_time_bound(world: World, pki) -> None:
    from roleport.domain.freshness import ChangeCounter
    from roleport.domain.pagination import PageTokens
    from roleport.domain.profiles import ProfileService
    from roleport.domain.quotas import Quotas

    anchor, profile = setup(world, pki)
    leaf = devpki.issue_leaf(pki.root, "elsewhere")
    service = SessionService(world.store, world.clock, world.issuer, world.settings,
                             changes=ChangeCounter(), max_age=timedelta(seconds=0.3))
    world.run(world.request(leaf, anchor, profile), service)
    other_process = ProfileService(world.store, world.clock, PageTokens(b"k" * 32), Quotas())
    other_process.set_enabled(world.caller, profile.id, False)
    world.run(world.request(leaf, anchor, profile), service)  # still within the bound
    import time

    time.sleep(0.35)
    assert refused(world, world.request(leaf, anchor, profile), service)[1].check == "profile"


# -- trusted identity propagation -------------------------------------------------------


def test_a_tip_profile_hands_the_issuer_the_origin_identity(world: World, pki) -> None:
    anchor, profile = setup(world, pki, tip_configuration=configured("ENABLED", "user", None))
    _, audit = world.run(world.request(devpki.issue_leaf(pki.root, "alice"), anchor, profile))
    assert world.issuer.calls[-1].origin_identity == OriginIdentity("alice", "user")
    assert audit.fields()["originSubject"] == "alice"
    plain = world.profile()
    world.run(world.request(devpki.issue_leaf(pki.root, "alice"), anchor, plain))
    assert world.issuer.calls[-1].origin_identity is None


def test_a_tip_profile_refuses_a_certificate_without_the_subject_field(world: World,
                                                                      pki) -> None:
    anchor, profile = setup(world, pki, tip_configuration=configured(
        "ENABLED", None, "x509SAN/URI"))
    message, audit = refused(world, world.request(devpki.issue_leaf(pki.root, "no-uri"),
                                                  anchor, profile))
    assert message == (f"Unable to assume role for {world.role_arn}. The certificate has no "
                       "x509SAN/URI value for the profile's trusted identity propagation.")
    assert audit.check == "trusted-identity" and "x509SAN/URI" in audit.reason
