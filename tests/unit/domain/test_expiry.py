"""Expiry evaluation as AWS does it (aws-behaviour §6.4), on real certificates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleport.crypto import devpki
from roleport.domain import expiry
from roleport.domain.model import CredentialRecord, NotificationSetting, Subject, TrustAnchor
from roleport.domain.notifications import defaults

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _root(days: float, cn: str = "Expiring Root") -> devpki.IssuedCertificate:
    return devpki.create_root_ca(cn, not_before=NOW - timedelta(days=30),
                                 not_after=NOW + timedelta(days=days))


def _anchor(*cas: devpki.IssuedCertificate, settings=None, enabled=True,  # noqa: ANN001
            account="111122223333", anchor_id="61f50cd4-45b9-4259-b049-d0a53682fa4b"):
    return TrustAnchor(
        id=anchor_id, account_id=account, region="us-west-1", name="a",
        source_type="CERTIFICATE_BUNDLE",
        source_data={"x509CertificateData": "".join(c.cert_pem for c in cas)},
        enabled=enabled, crl_dp_revocation_enabled=False,
        notification_settings=settings if settings is not None else defaults(),
        created_at=NOW, updated_at=NOW)


def _subject(*leaves, seen=NOW - timedelta(hours=2), failed=False,  # noqa: ANN001, ANN002
             account="111122223333") -> Subject:
    return Subject(id="s", account_id=account, region="us-west-1", x509_subject="CN=x",
                   enabled=True, last_seen_at=seen, created_at=seen, updated_at=seen,
                   credentials=[CredentialRecord(seen, str(leaf.cert.serial),
                                                 leaf.cert.issuer_dn, True, leaf.cert_pem,
                                                 failed) for leaf in leaves])


def _setting(event: str, threshold: int | None, enabled: bool = True) -> NotificationSetting:
    return NotificationSetting(event, "ALL", enabled, threshold, "111122223333")


def test_ca_event_fires_within_the_default_threshold_with_awss_shape():
    root = _root(44.5)
    [found] = expiry.ca_expiries([_anchor(root)], NOW)
    assert (found.days_to_expiry, found.threshold) == (44, 45)
    event = expiry.eventbridge_event(found, event_id="9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
                                     time=NOW)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time",
                           "region", "resources", "detail"]
    assert event["detail-type"] == "Roles Anywhere Certificate Expiration State Change"
    assert event["source"] == "aws.rolesanywhere" and event["time"] == "2027-03-01T12:00:00Z"
    assert event["resources"] == ["arn:aws:rolesanywhere:us-west-1:111122223333:trust-anchor/"
                                  "61f50cd4-45b9-4259-b049-d0a53682fa4b"]
    assert event["detail"] == {"certificate-serial-number": root.cert.serial_der_hex,
                               "days-to-expiry": 44, "issuer": "CN=Expiring Root"}


@pytest.mark.parametrize(("days", "due"), [(45.9, True), (46.1, False), (0.5, True),
                                           (-13.5, True), (-14.5, False)])
def test_ca_window_runs_from_the_threshold_to_fourteen_days_after_expiry(days, due):
    assert bool(expiry.ca_expiries([_anchor(_root(days))], NOW)) is due


def test_ca_event_names_the_soonest_expiring_certificate_of_the_bundle():
    later, sooner = _root(40, "Later"), _root(10, "Sooner")
    [found] = expiry.ca_expiries([_anchor(later, sooner)], NOW)
    assert found.serial_number == sooner.cert.serial_der_hex and found.days_to_expiry == 10


def test_disabled_settings_and_disabled_anchors_are_not_evaluated():
    root = _root(5)
    off = [_setting(expiry.CA_EXPIRY, 45, enabled=False)]
    assert expiry.ca_expiries([_anchor(root, settings=off)], NOW) == []
    assert expiry.ca_expiries([_anchor(root, enabled=False)], NOW) == []
    custom = [_setting(expiry.CA_EXPIRY, 3)]
    assert expiry.ca_expiries([_anchor(root, settings=custom)], NOW) == []


def test_end_entity_event_for_a_certificate_used_in_the_last_day_has_no_resources():
    root = _root(3000)
    leaf = devpki.issue_leaf(root, "agent", not_before=NOW - timedelta(days=1),
                             not_after=NOW + timedelta(days=20, hours=1))
    [found] = expiry.end_entity_expiries([_anchor(root)], [_subject(leaf)], NOW)
    assert found.event == expiry.END_ENTITY_EXPIRY and found.days_to_expiry == 20
    event = expiry.eventbridge_event(found, event_id="x", time=NOW)
    assert "resources" not in event
    assert event["detail"] == {"certificate-serial-number": leaf.cert.serial_der_hex,
                               "days-to-expiry": 20, "issuer": "CN=Expiring Root"}


def test_end_entity_events_need_a_recent_use_an_anchor_and_the_window():
    root = _root(3000)
    soon = devpki.issue_leaf(root, "a", not_before=NOW - timedelta(days=1),
                             not_after=NOW + timedelta(days=2))
    anchors = [_anchor(root)]
    refused = _subject(soon, failed=True)  # seen, refused (say, for its role): in use
    assert len(expiry.end_entity_expiries(anchors, [refused], NOW)) == 1
    stale = _subject(soon, seen=NOW - timedelta(days=1, minutes=1))
    assert expiry.end_entity_expiries(anchors, [stale], NOW) == []
    other = _subject(soon, account="999999999999")
    assert expiry.end_entity_expiries(anchors, [other], NOW) == []
    expired = devpki.issue_leaf(root, "b", not_before=NOW - timedelta(days=9),
                                not_after=NOW - timedelta(hours=1))
    assert expiry.end_entity_expiries(anchors, [_subject(expired)], NOW) == []
    off = [_setting(expiry.END_ENTITY_EXPIRY, None, enabled=False)]
    assert expiry.end_entity_expiries([_anchor(root, settings=off)], [_subject(soon)],
                                      NOW) == []


def test_keys_separate_certificates_thresholds_and_anchors_but_not_days():
    root = _root(10)
    a = expiry.ca_expiries([_anchor(root)], NOW)[0]
    b = expiry.ca_expiries([_anchor(root, settings=[_setting(expiry.CA_EXPIRY, 30)])], NOW)[0]
    c = expiry.ca_expiries([_anchor(root, anchor_id="other")], NOW)[0]
    d = expiry.ca_expiries([_anchor(root)], NOW + timedelta(days=1))[0]
    assert len({a.key, b.key, c.key}) == 3 and a.key == d.key
    assert expiry.delivery_day(NOW) == "2027-03-01"
