"""SpiffeBundles (roleport.domain.spiffe): refresh on the hint, on demand at most once a
second, keeping the last bundle through failures until it is stale, then failing closed;
and the default names of an SVID."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleport.crypto.spiffe import SpiffeId
from roleport.domain.model import Tag
from roleport.domain.revocation import FetchError
from roleport.domain.spiffe import (
    SpiffeBundles,
    SpiffeProblem,
    spiffe_trust_domain,
    svid_names,
)
from tests.e2e.spiffe_support import bundle, spire_ca, svid

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Source:
    def __init__(self, body: bytes | Exception) -> None:
        self.body = body
        self.calls = 0

    def __call__(self, location: str) -> bytes:
        self.calls += 1
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


@pytest.fixture(scope="module")
def cas():
    return spire_ca("example.org", "CA 1"), spire_ca("example.org", "CA 2")


def _bundles(source: Source) -> SpiffeBundles:
    return SpiffeBundles({"example.org": "https://bundle/"}, source,
                         max_staleness=timedelta(minutes=10),
                         default_refresh=timedelta(minutes=1))


def test_refreshes_on_the_hint_and_on_demand(cas) -> None:
    one, two = cas
    source = Source(bundle(one, refresh_hint=120))
    bundles = _bundles(source)
    first, version = bundles.current("example.org", T0)
    assert first.authorities == (one.certificate,) and source.calls == 1
    assert bundles.current("example.org", T0 + timedelta(seconds=119))[1] == version
    assert source.calls == 1
    source.body = bundle(one, two, refresh_hint=120)
    # on demand: at most once a second
    assert bundles.current("example.org", T0 + timedelta(seconds=119), on_demand=True)[1] \
        == version + 1
    assert bundles.current("example.org", T0 + timedelta(seconds=119.5), on_demand=True)[1] \
        == version + 1
    assert source.calls == 2
    source.body = bundle(two, refresh_hint=None)
    got, _ = bundles.current("example.org", T0 + timedelta(seconds=240))
    assert got.authorities == (two.certificate,) and source.calls == 3
    # no hint: the server's default (1 minute)
    bundles.current("example.org", T0 + timedelta(seconds=290))
    assert source.calls == 3


def test_hint_is_capped_at_half_the_staleness_limit(cas) -> None:
    source = Source(bundle(cas[0], refresh_hint=86400))
    bundles = _bundles(source)
    bundles.current("example.org", T0)
    bundles.current("example.org", T0 + timedelta(minutes=5, seconds=1))
    assert source.calls == 2


def test_keeps_the_bundle_through_failures_until_stale(cas) -> None:
    source = Source(bundle(cas[0], refresh_hint=60))
    bundles = _bundles(source)
    bundles.current("example.org", T0)
    source.body = FetchError("HTTP 503")
    assert bundles.current("example.org", T0 + timedelta(minutes=9))[0].authorities
    with pytest.raises(SpiffeProblem, match=r"is stale: last read at 2026-12-07T12:00:00Z, "
                                            r"more than 600 s ago \(since then: "
                                            r"https://bundle/: HTTP 503\)"):
        bundles.current("example.org", T0 + timedelta(minutes=11))
    source.body = b"{}"
    with pytest.raises(SpiffeProblem, match="not a JWK set"):
        bundles.current("example.org", T0 + timedelta(minutes=12))


def test_no_bundle_at_all_and_unknown_trust_domain(cas) -> None:
    bundles = _bundles(Source(FetchError("unreachable (refused)")))
    with pytest.raises(SpiffeProblem, match=r"no SPIFFE bundle for example.org could be read"
                                            r" from https://bundle/ \(https://bundle/: "
                                            r"unreachable"):
        bundles.current("example.org", T0)
    with pytest.raises(SpiffeProblem, match="no bundle for"):
        bundles.current("other.org", T0)


def test_tag_and_names(cas) -> None:
    assert spiffe_trust_domain([Tag("roleport:spiffeTrustDomain", " example.org ")]) == \
        "example.org"
    assert spiffe_trust_domain([Tag("team", "x")]) is None
    cert = svid(cas[0], "spiffe://example.org/ns/prod/sa/web").certificate
    assert svid_names(SpiffeId("example.org", "/ns/prod/sa/web"), cert) == (
        "ns.prod.sa.web", "example.org.ns.prod.sa.web")
    assert svid_names(SpiffeId("example.org", ""), cert) == ("example.org", "example.org")
    long_path = "/" + "/".join(["segment"] * 12)
    name, identity = svid_names(SpiffeId("example.org", long_path), cert)
    assert len(name) == 64 and identity == f"ID={cert.serial_hex}"
