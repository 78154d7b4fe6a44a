"""CreateSession's metric labels are those of stored resources, never a caller's words;
CRL distribution point fetches are counted by outcome."""

from __future__ import annotations

import pytest

from roleport.domain.revocation import CrlFetchError
from roleport.domain.sessions import SessionAudit
from roleport.server.observability import Metrics
from roleport.server.providers.sessions import _CountedFetcher, metric_labels

ANCHOR = "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/ta-1"
PROFILE = "arn:aws:rolesanywhere:us-east-1:111122223333:profile/p-1"


def _audit(check: str | None, *, found: bool = True, outcome: str = "refused",
           anchor: str = ANCHOR, profile: str = PROFILE) -> SessionAudit:
    audit = SessionAudit(trust_anchor_arn=anchor, profile_arn=profile, outcome=outcome,
                         check=check)
    if found:
        audit.account_id = "111122223333"
    return audit


@pytest.mark.parametrize(("audit", "labels"), [
    (_audit("trust-anchor", found=False), ("unknown", "unknown")),
    (_audit("input", found=False, anchor="not an arn"), ("unknown", "unknown")),
    (_audit("trust-anchor"), ("ta-1", "unknown")),  # exists, disabled
    (_audit("profile"), ("ta-1", "unknown")),
    (_audit("certificate"), ("ta-1", "p-1")),
    (_audit(None, outcome="issued"), ("ta-1", "p-1")),
    (_audit("role", profile="arn:aws:rolesanywhere:us-east-1:111122223333:alias/profile/x"),
     ("ta-1", "alias/x")),
])
def test_labels_name_only_resources_known_to_exist(audit, labels):
    assert metric_labels(audit) == labels


def test_crl_fetches_are_counted_by_outcome():
    metrics = Metrics()

    def fetch(url: str) -> bytes:
        if "down" in url:
            raise CrlFetchError("HTTP 404")
        return b"crl"

    counted = _CountedFetcher(fetch, metrics)  # type: ignore[arg-type]
    assert counted("http://ok/crl") == b"crl"
    for _ in range(2):
        with pytest.raises(CrlFetchError):
            counted("http://down/crl")
    value = metrics.registry.get_sample_value
    assert value("roleport_crl_fetch_total", {"outcome": "ok"}) == 1
    assert value("roleport_crl_fetch_total", {"outcome": "failed"}) == 2
