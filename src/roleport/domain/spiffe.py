"""SPIFFE trust bundles behind trust anchors (a Roleport extension).

A trust anchor tagged ``roleport:spiffeTrustDomain`` = ``example.org`` (:data:`SPIFFE_TAG`)
follows the SPIFFE trust bundle the server is configured with for that trust domain
(``roleport serve --spiffe-bundle example.org=https://...`` or ``=/path/bundle.json``):

* CreateSession trusts the bundle's X.509 authorities, not the PEM stored in the anchor;
  the anchor's ``x509CertificateData`` is rewritten to the bundle's authorities whenever
  a session finds them changed, so plain AWS clients see a normal ``CERTIFICATE_BUNDLE``
  anchor whose data follows the bundle;
* the signing certificate must be an X.509-SVID of that trust domain
  (:func:`roleport.crypto.spiffe.check_x509_svid`); its subject DN may be empty;
* the bundle is fetched again once its ``spiffe_refresh_hint`` (or the server's default)
  has passed (at most half of ``max_staleness``, so a healthy endpoint never lets it go
  stale), and *on demand* when a certificate does not chain to the bundle held (an
  authority rotated in), at most once per ``on_demand_interval``;
* a bundle last fetched longer than ``max_staleness`` ago (the source failing since) is
  not used: CreateSession fails closed, saying so in the audit record.

The fetching itself (HTTPS per the ``https_web`` profile, or a local file) is the
server's (``server/crl_fetcher.py``); this module keeps the bundles and decides.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from roleport.crypto.certificates import Certificate
from roleport.crypto.errors import CryptoError
from roleport.crypto.paths import TrustStore, validate_path
from roleport.crypto.spiffe import SpiffeBundle, SpiffeId, parse_bundle
from roleport.domain.model import Tag
from roleport.domain.revocation import FetchError

__all__ = ["SPIFFE_TAG", "BundleFetcher", "BundlePaths", "SpiffeBundles", "SpiffeProblem",
           "spiffe_trust_domain", "svid_names"]

SPIFFE_TAG = "roleport:spiffeTrustDomain"


class SpiffeProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BundleFetcher(Protocol):
    def __call__(self, location: str, /) -> bytes:
        """The bundle document at ``location`` (https URL or file); raises FetchError."""


def spiffe_trust_domain(tags: Sequence[Tag]) -> str | None:
    for tag in tags:
        if tag.key == SPIFFE_TAG and tag.value.strip():
            return tag.value.strip()
    return None


@dataclass
class _Held:
    bundle: SpiffeBundle | None = None
    fetched_at: datetime | None = None
    next_refresh: datetime | None = None
    last_attempt: datetime | None = None
    last_problem: str | None = None
    #: bumped on every change of the authorities: keys trust-store caches
    version: int = 0


class SpiffeBundles:
    def __init__(self, sources: dict[str, str], fetcher: BundleFetcher, *,
                 max_staleness: timedelta = timedelta(hours=1),
                 default_refresh: timedelta = timedelta(minutes=5),
                 on_demand_interval: timedelta = timedelta(seconds=1)) -> None:
        self.sources = dict(sources)
        self._fetcher = fetcher
        self.max_staleness = max_staleness
        self.default_refresh = default_refresh
        self.on_demand_interval = on_demand_interval
        self._held: dict[str, _Held] = {td: _Held() for td in self.sources}
        self._lock = threading.Lock()

    def current(self, trust_domain: str, now: datetime, *,
                on_demand: bool = False) -> tuple[SpiffeBundle, int]:
        """The bundle of ``trust_domain`` to trust now (refreshed when due, or on demand)
        and its version; raises SpiffeProblem when there is none fresh enough."""
        location = self.sources.get(trust_domain)
        if location is None:
            raise SpiffeProblem(f"the trust anchor follows the SPIFFE trust domain "
                                f"{trust_domain}, which this server has no bundle for "
                                f"(roleport serve --spiffe-bundle)")
        with self._lock:
            held = self._held[trust_domain]
            due = held.next_refresh is None or now >= held.next_refresh
            if on_demand and not due:
                due = held.last_attempt is None or \
                    now - held.last_attempt >= self.on_demand_interval
        if due:
            self._refresh(trust_domain, location, now)
        with self._lock:
            held = self._held[trust_domain]
            if held.bundle is None or held.fetched_at is None:
                raise SpiffeProblem(f"no SPIFFE bundle for {trust_domain} could be read from "
                                    f"{location} ({held.last_problem})")
            if now - held.fetched_at > self.max_staleness:
                raise SpiffeProblem(
                    f"the SPIFFE bundle of {trust_domain} is stale: last read at "
                    f"{_iso(held.fetched_at)}, more than {_seconds(self.max_staleness)} ago "
                    f"(since then: {held.last_problem})")
            return held.bundle, held.version

    def _refresh(self, trust_domain: str, location: str, now: datetime) -> None:
        # the fetcher may move the request to a thread (roleport.offload) before it asks:
        # nothing is recorded before it returns, so the request's second run asks again
        try:
            body = self._fetcher(location)
        except FetchError as exc:
            self._failed(trust_domain, now, f"{location}: {exc}")
            return
        try:
            bundle = parse_bundle(body)
        except CryptoError as exc:
            self._failed(trust_domain, now, f"{location}: {exc.full}")
            return
        hint = timedelta(seconds=bundle.refresh_hint) if bundle.refresh_hint else \
            self.default_refresh
        # a healthy endpoint must never let the bundle go stale: refresh at half the limit
        hint = min(hint, self.max_staleness / 2)
        with self._lock:
            held = self._held[trust_domain]
            if held.bundle is None or set(held.bundle.authorities) != set(bundle.authorities):
                held.version += 1
            held.bundle, held.fetched_at, held.last_attempt = bundle, now, now
            held.next_refresh, held.last_problem = now + hint, None

    def _failed(self, trust_domain: str, now: datetime, problem: str) -> None:
        with self._lock:
            held = self._held[trust_domain]
            held.last_problem, held.last_attempt = problem, now
            # try again at the next request after a short pause, not at every request
            held.next_refresh = now + self.on_demand_interval


#: what a path to the bundle calls when the bundle it chained to differs from the PEM
#: the trust anchor holds: (the bundle's authorities as PEM, now)
Follow = Callable[[str, datetime], None]


class BundlePaths:
    """Certificate paths to the X.509 authorities of SPIFFE bundles (one trust store per
    trust domain, rebuilt when the bundle's authorities change)."""

    def __init__(self, bundles: SpiffeBundles) -> None:
        self.bundles = bundles
        self._stores: dict[str, tuple[int, TrustStore]] = {}
        self._lock = threading.Lock()

    def path(self, certificate: Certificate, intermediates: list[Certificate],
             trust_domain: str, now: datetime, *, max_chain: int,
             follow: Follow | None = None) -> list[Certificate]:
        """The path ``[leaf, ..., bundle authority]``; the bundle is fetched again once on
        demand when the certificate does not chain to the one held (a rotation). ``follow``
        hears of every bundle a path was tried against. Raises SpiffeProblem."""
        version, problem = None, "no path was tried"
        for on_demand in (False, True):
            bundle, current = self.bundles.current(trust_domain, now, on_demand=on_demand)
            if current == version:
                break  # nothing new came on demand
            version = current
            if follow is not None:
                follow(bundle.pem, now)
            try:
                return validate_path(certificate, intermediates,
                                     self._store(trust_domain, current, bundle), now,
                                     max_chain=max_chain)
            except CryptoError as exc:
                problem = exc.full
        raise SpiffeProblem(problem)

    def _store(self, trust_domain: str, version: int, bundle: SpiffeBundle) -> TrustStore:
        with self._lock:
            held = self._stores.get(trust_domain)
            if held is not None and held[0] == version:
                return held[1]
        store = TrustStore(bundle.authorities)
        with self._lock:
            self._stores[trust_domain] = (version, store)
        return store


_STS_NAME_EXTRA = re.compile(r"[^\w+=,.@-]+")


def _sts_name(text: str) -> str:
    """``text`` in the characters STS allows in session names and source identities."""
    return _STS_NAME_EXTRA.sub(".", text).strip(".")


def svid_names(spiffe_id: SpiffeId, certificate: Certificate) -> tuple[str, str]:
    """Default role session name and source identity of an X.509-SVID.

    The session name is the SPIFFE ID's path with ``/`` as ``.`` (``/ns/prod/sa/web`` ->
    ``ns.prod.sa.web``; the trust domain for an empty path), the source identity the
    trust domain and the path (``example.org.ns.prod.sa.web``): stable across the SVID's
    rotations, unlike its serial. Longer than STS's 64 characters: the session name keeps
    its first 64, the source identity falls back to AWS's ``ID=<serial>``.
    """
    name = _sts_name(spiffe_id.path.replace("/", ".")) or _sts_name(spiffe_id.trust_domain)
    identity = _sts_name(spiffe_id.trust_domain + spiffe_id.path.replace("/", "."))
    if len(name) < 2:
        name = certificate.serial_hex
    if not 2 <= len(identity) <= 64:
        identity = f"ID={certificate.serial_hex}"
    return name[:64], identity


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s"
