"""What each console page shows, read through the same domain services as the API, in
the signed-in account and Region only (plain data for the templates; no HTTP here)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from roleport.console import timeline
from roleport.crypto.certificates import Certificate, load_pem_bundle
from roleport.crypto.errors import CryptoError
from roleport.domain.context import Caller
from roleport.domain.model import CredentialRecord, Profile, Subject, TrustAnchor
from roleport.domain.notifications import DEFAULT_THRESHOLD
from roleport.domain.resources import ResourceService
from roleport.iam.roles import RoleRegistry

#: leaves on the timeline: those a CreateSession used in this many days
RECENT_LEAF_DAYS = 30
#: the most resources one list page reads (the quotas allow 50 anchors, 250 profiles)
MAX_LISTED = 1000
SUBJECTS_PER_PAGE = 100
REFUSALS_ON_OVERVIEW = 10


def _all(service: ResourceService[Any], caller: Caller, limit: int = MAX_LISTED) -> list[Any]:
    items: list[Any] = []
    token = None
    while len(items) < limit:
        page = service.list(caller, token, 100)
        items += page.items
        token = page.next_token
        if token is None:
            break
    return items[:limit]


def _certificates(pem: str | None) -> list[Certificate]:
    if not pem:
        return []
    try:
        return load_pem_bundle(pem)
    except CryptoError:
        return []  # stored data was checked on the way in; show nothing rather than fail


@dataclass(frozen=True)
class Refusal:
    subject: Subject
    record: CredentialRecord

    @property
    def check(self) -> str:
        reason = self.record.failure_reason or ""
        return reason.split(":", 1)[0] if ":" in reason else ""

    @property
    def reason(self) -> str:
        reason = self.record.failure_reason or "refused"
        return reason.split(":", 1)[1].strip() if ":" in reason else reason


def refusals(subjects: list[Subject]) -> list[Refusal]:
    """Every refused attempt the subjects remember, the latest first."""
    found = [Refusal(s, c) for s in subjects for c in s.credentials if c.failed]
    return sorted(found, key=lambda r: r.record.seen_at, reverse=True)


@dataclass
class AccountView:
    """The reads behind the pages, for one caller."""

    trust_anchors: ResourceService[TrustAnchor]
    profiles: ResourceService[Profile]
    subjects: ResourceService[Subject]
    roles: RoleRegistry
    caller: Caller
    _cache: dict[str, Any] = field(default_factory=dict)

    def anchors(self) -> list[TrustAnchor]:
        if "anchors" not in self._cache:
            self._cache["anchors"] = _all(self.trust_anchors, self.caller)
        return self._cache["anchors"]

    def anchor_certificates(self, anchor: TrustAnchor) -> list[Certificate]:
        return _certificates(anchor.certificate_bundle)

    def profile_list(self) -> list[Profile]:
        return _all(self.profiles, self.caller)

    def role_list(self) -> list[Any]:
        roles: list[Any] = []
        marker = None
        while len(roles) < MAX_LISTED:
            listing = self.roles.list_roles(self.caller.account_id, path_prefix=None,
                                            marker=marker, max_items=100)
            roles += listing.items
            marker = listing.marker
            if marker is None:
                break
        return roles

    def subject_page(self, token: str | None) -> tuple[list[Subject], str | None]:
        page = self.subjects.list(self.caller, token, SUBJECTS_PER_PAGE)
        return page.items, page.next_token

    def all_subjects(self) -> list[Subject]:
        if "subjects" not in self._cache:
            self._cache["subjects"] = _all(self.subjects, self.caller, limit=5 * MAX_LISTED)
        return self._cache["subjects"]

    def overview(self, now: datetime) -> dict[str, Any]:
        anchors, subjects = self.anchors(), self.all_subjects()
        profiles = self.profile_list()
        chart_entries = self.expiry_entries(now)
        soonest = sorted(chart_entries, key=lambda e: e.not_after)[:5]
        return {
            "anchors": len(anchors), "anchors_enabled": sum(a.enabled for a in anchors),
            "profiles": len(profiles), "profiles_enabled": sum(p.enabled for p in profiles),
            "roles": len(self.role_list()), "subjects": len(subjects),
            "refusals": refusals(subjects)[:REFUSALS_ON_OVERVIEW],
            "soonest": [(e, timeline.state_of(e, now), timeline.days_to_expiry(e, now))
                        for e in soonest],
        }

    # -- the timeline --------------------------------------------------------------

    def expiry_entries(self, now: datetime) -> list[timeline.Entry]:
        entries: list[timeline.Entry] = []
        issuers: dict[str, TrustAnchor] = {}
        for anchor in self.anchors():
            threshold = timeline.Threshold.of(anchor.notification_settings, timeline.CA_EVENT)
            for cert in self.anchor_certificates(anchor):
                issuers.setdefault(cert.subject_dn, anchor)
                entries.append(timeline.Entry(
                    "ca", cert.common_name or cert.subject_dn, cert.subject_dn, cert.issuer_dn,
                    cert.serial_hex, cert.not_before, cert.not_after, threshold, anchor.name))
        entries += self._recent_leaves(now, issuers)
        return entries

    def _recent_leaves(self, now: datetime,
                       issuers: dict[str, TrustAnchor]) -> Iterator[timeline.Entry]:
        since = now - timedelta(days=RECENT_LEAF_DAYS)
        seen: set[tuple[str, str]] = set()
        for subject in self.all_subjects():
            for record in subject.credentials:
                key = (record.serial_number, record.issuer)
                if record.seen_at < since or key in seen:
                    continue
                seen.add(key)
                certs = _certificates(record.x509_certificate_data)
                if not certs:
                    continue
                cert = certs[0]
                anchor = issuers.get(cert.issuer_dn)
                threshold = (timeline.Threshold.of(anchor.notification_settings,
                                                   timeline.LEAF_EVENT)
                             if anchor is not None else timeline.Threshold(
                                 True, DEFAULT_THRESHOLD))
                yield timeline.Entry("leaf", cert.common_name or cert.subject_dn,
                                     cert.subject_dn, cert.issuer_dn, cert.serial_hex,
                                     cert.not_before, cert.not_after, threshold,
                                     anchor.name if anchor is not None else "")


def role_rows(roles: list[Any]) -> list[dict[str, Any]]:
    return [{"name": r.name, "arn": r.arn, "path": r.path,
             "max_session_duration": r.max_session_duration, "created_at": r.created_at,
             "description": r.description or "", "trust_policy": r.trust_policy}
            for r in roles]
