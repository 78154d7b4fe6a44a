"""Revocation by CRL distribution points (trust anchors with ``crlDpRevocationEnabled``).

The domain does no HTTP: it is given a :class:`CrlFetcher` (``server/crl_fetcher.py`` is
the HTTP one) and keeps what it fetched in a :class:`DistributionPointCache` until the
CRL's ``nextUpdate``. Every failure is *closed*: a distribution point that cannot be read,
answers something that is not a CRL of the certificate's issuer, or serves a CRL already
past its ``nextUpdate`` refuses the certificate, with a message that says which. That
message is for the audit trail and the subject record: it tells what the server's network
answered, which is none of an unauthenticated caller's business (CreateSession says only
that the status could not be checked).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Protocol

from roleport.crypto.certificates import Certificate
from roleport.crypto.crls import Crl, load_crl, verify_crl_signed_by
from roleport.crypto.errors import CryptoError

__all__ = ["CrlFetchError", "CrlFetcher", "DistributionPointCache", "RevocationProblem",
           "check_distribution_points"]

#: how long a CRL without nextUpdate is reused before it is fetched again
DEFAULT_TTL = timedelta(minutes=5)


class CrlFetchError(Exception):
    """A distribution point could not be read (timeout, refused, too large, HTTP error)."""


class RevocationProblem(Exception):
    """The certificate is revoked, or its status could not be established (fail closed)."""

    def __init__(self, message: str, *, revoked: bool) -> None:
        super().__init__(message)
        self.message = message
        self.revoked = revoked


class CrlFetcher(Protocol):
    def __call__(self, url: str, /) -> bytes:
        """The body at ``url``; raises CrlFetchError."""


class DistributionPointCache:
    """Parsed CRLs by URL, each kept until its nextUpdate (LRU beyond ``max_entries``)."""

    def __init__(self, fetcher: CrlFetcher, *, max_entries: int = 256,
                 default_ttl: timedelta = DEFAULT_TTL) -> None:
        self._fetcher = fetcher
        self._entries: OrderedDict[str, tuple[datetime, Crl]] = OrderedDict()
        self._max = max_entries
        self._ttl = default_ttl
        self._lock = threading.Lock()

    def get(self, url: str, now: datetime) -> Crl:
        """The CRL published at ``url``, fetched unless a fresh copy is cached."""
        with self._lock:
            hit = self._entries.get(url)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(url)
                return hit[1]
        body = self._fetcher(url)
        try:
            crl = load_crl(body)
        except CryptoError as exc:
            raise CrlFetchError(f"the response is not a CRL ({exc.full})") from None
        if crl.is_stale(now):
            raise CrlFetchError(f"the CRL is out of date (nextUpdate {_iso(crl.next_update)})")
        expires = crl.next_update or now + self._ttl
        with self._lock:
            self._entries[url] = (expires, crl)
            self._entries.move_to_end(url)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return crl

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def check_distribution_points(certificate: Certificate, issuer: Certificate,
                              cache: DistributionPointCache, now: datetime) -> str | None:
    """Check ``certificate`` against the CRLs at its distribution points.

    Returns the URL whose CRL vouched for it (``None`` when it names no HTTP distribution
    point). Raises RevocationProblem when it is revoked or no point gave a usable CRL.
    """
    urls = certificate.crl_distribution_points
    if not urls:
        return None
    problems = []
    for url in urls:
        try:
            crl = cache.get(url, now)
        except CrlFetchError as exc:
            problems.append(f"{url}: {exc}")
            continue
        try:
            verify_crl_signed_by(crl, [issuer])
        except CryptoError as exc:
            problems.append(f"{url}: {exc.full}")
            continue
        if crl.is_revoked(certificate.serial):
            when = crl.revocation_date(certificate.serial)
            raise RevocationProblem(
                f"certificate serial {certificate.serial_hex} is revoked (since "
                f"{_iso(when)}) by the CRL at distribution point {url}", revoked=True)
        return url
    raise RevocationProblem(
        "the revocation status could not be checked at any CRL distribution point ("
        + "; ".join(problems) + ")", revoked=False)


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"
