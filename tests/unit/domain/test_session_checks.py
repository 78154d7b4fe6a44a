"""run_checks on its own: AWS's order, stop at the first failure (the server) or go on
(explain), and skip what a check cannot run without."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleport.crypto import devpki
from roleport.domain.model import Profile, TrustAnchor
from roleport.domain.session_checks import (
    CHECKS,
    Refused,
    SessionAudit,
    SessionChecks,
    SessionRequest,
    SessionSettings,
)
from roleport.domain.session_run import run_checks
from roleport.errors import AuthenticationError

NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _now_is_when_the_test_runs() -> None:
    """NOW is the time each test starts, not the time the module was collected: the
    certificates are issued when a test first needs them, valid from 5 minutes before, and
    the suite may reach this module well after collecting it."""
    global NOW
    NOW = datetime.now(UTC)
ACCOUNT, REGION = "111122223333", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workload"
ROOT = devpki.create_root_ca("Checks Root CA")


class Presented:
    def __init__(self, leaf: devpki.IssuedCertificate, *, verifies: bool = True) -> None:
        self.certificate, self.chain, self.verifies = leaf.certificate, [], verifies

    @property
    def region(self) -> str:
        return REGION

    def verify(self, *, now: datetime, max_skew: timedelta) -> set[str]:
        if not self.verifies:
            raise AuthenticationError("signature", "signature does not verify")
        return set()


def anchor(enabled: bool = True) -> TrustAnchor:
    return TrustAnchor(id="0ace5b12-24b9-427e-a483-c55884852fbf", account_id=ACCOUNT,
                       region=REGION, name="a", source_type="CERTIFICATE_BUNDLE",
                       source_data={"x509CertificateData": ROOT.cert_pem}, enabled=enabled,
                       crl_dp_revocation_enabled=False, notification_settings=[],
                       created_at=NOW, updated_at=NOW)


def profile(roles: list[str] | None = None) -> Profile:
    return Profile(id="61f50cd4-45b9-4259-b049-d0a53682fa4b", account_id=ACCOUNT,
                   region=REGION, name="p", enabled=True, require_instance_properties=False,
                   session_policy=None, role_arns=[ROLE] if roles is None else roles,
                   managed_policy_arns=[], duration_seconds=3600,
                   accept_role_session_name=False, attribute_mappings=[], created_by="x",
                   created_at=NOW, updated_at=NOW)


def run(leaf, *, ta=None, prof=None, keep_going=False, verifies=True, verify_signature=True):  # noqa: ANN001, ANN201
    ta = ta or anchor()
    request = SessionRequest(Presented(leaf, verifies=verifies), ta.arn,
                             (prof or profile()).arn, ROLE)
    audit = SessionAudit()
    asked = []
    results, issued = run_checks(
        SessionChecks(SessionSettings()), request, audit, anchor=ta,
        profile=profile() if prof is None else prof, crls=[], now=NOW,
        assume=lambda ask: asked.append(ask) or "issued", keep_going=keep_going,
        verify_signature=verify_signature)
    return results, issued, audit, asked


def statuses(results) -> dict[str, str]:  # noqa: ANN001
    return {r.check: r.status for r in results}


def test_a_good_request_passes_every_check_in_order() -> None:
    results, issued, audit, [ask] = run(devpki.issue_leaf(ROOT, "good"))
    assert [r.check for r in results] == list(CHECKS)
    assert set(statuses(results).values()) == {"passed"} and issued == "issued"
    assert audit.check is None and audit.signature_verified and ask.role_session_name


def test_the_server_stops_at_the_first_failure() -> None:
    with pytest.raises(Refused) as refused:
        run(devpki.issue_leaf(ROOT, "x"), ta=anchor(enabled=False))
    assert refused.value.check == "trust-anchor"
    assert refused.value.message == "Specified Trust Anchor wasn't found."


def test_explain_goes_on_and_the_first_failure_decides() -> None:
    expired = devpki.issue_leaf(ROOT, "late", not_before=NOW - timedelta(days=2),
                                not_after=NOW - timedelta(days=1))
    results, issued, audit, asked = run(expired, ta=anchor(enabled=False),
                                        prof=profile(roles=[]), keep_going=True,
                                        verifies=False)
    assert statuses(results) == {
        "trust-anchor": "failed", "profile": "passed", "signature": "failed",
        "certificate": "failed", "revocation": "skipped", "role": "failed",
        "role-session-name": "passed", "trusted-identity": "passed",
        "session-tags": "passed", "assume-role": "passed"}
    assert issued is None and len(asked) == 1  # the trust policy is still evaluated
    assert audit.check == "trust-anchor" and "disabled" in audit.reason
    certificate = next(r for r in results if r.check == "certificate")
    assert certificate.reason.startswith("certificate has expired")
    assert certificate.message == "Untrusted signing certificate"


def test_without_a_key_the_signature_is_skipped_and_without_a_profile_the_role_checks() -> None:
    results, issued, audit, asked = run(devpki.issue_leaf(ROOT, "k"), verify_signature=False,
                                        keep_going=True)
    assert statuses(results)["signature"] == "skipped" and issued == "issued"
    request = SessionRequest(Presented(devpki.issue_leaf(ROOT, "p")), anchor().arn,
                             profile().arn, ROLE)
    results, issued = run_checks(SessionChecks(SessionSettings()), request, SessionAudit(),
                                 anchor=anchor(), profile=None, crls=[], now=NOW,
                                 assume=lambda ask: "issued", keep_going=True)
    assert issued is None
    assert [r.check for r in results if r.status == "skipped"] == [
        "role", "role-session-name", "trusted-identity", "session-tags", "assume-role"]
