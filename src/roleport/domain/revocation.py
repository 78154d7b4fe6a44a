"""Revocation by CRL distribution points (``crlDpRevocationEnabled``) and by OCSP.

The domain does no HTTP: it is given a :class:`CrlFetcher` (``server/crl_fetcher.py`` is
the HTTP one) and keeps what it fetched in a :class:`DistributionPointCache` until the
CRL's ``nextUpdate``. Every failure is *closed*: a distribution point that cannot be read,
answers something that is not a CRL of the certificate's issuer, or serves a CRL already
past its ``nextUpdate`` refuses the certificate, with a message that says which. That
message is for the audit trail and the subject record: it tells what the server's network
answered, which is none of an unauthenticated caller's business (CreateSession says only
that the status could not be checked).

OCSP is a Roleport extension, turned on per trust anchor with the tag
``roleport:ocsp`` (:data:`OCSP_TAG`; AWS has no API field for it, and a tag keeps every
AWS client working). ``enabled`` asks the authorityInfoAccess OCSP responder of every
certificate of the path (leaf and intermediates) and fails closed: no valid answer in
time refuses the certificate. ``soft-fail`` refuses revoked and unknown certificates
but lets one through when no responder gave a valid answer (the audit record says so).
Answers are verified by :mod:`roleport.crypto.ocsp` and kept by :class:`OcspChecker`
until their ``nextUpdate``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Protocol

from roleport.crypto import ocsp
from roleport.crypto.certificates import Certificate
from roleport.crypto.crls import Crl, load_crl, verify_crl_signed_by
from roleport.crypto.errors import CryptoError
from roleport.domain.model import Tag

__all__ = ["OCSP_MODES", "OCSP_TAG", "CrlFetchError", "CrlFetcher", "DistributionPointCache",
           "FetchError", "OcspChecker", "OcspFetcher", "RevocationProblem",
           "check_distribution_points", "ocsp_mode"]

#: the trust-anchor tag that turns OCSP checking on, and its values
OCSP_TAG = "roleport:ocsp"
OCSP_ENABLED, OCSP_SOFT_FAIL = "enabled", "soft-fail"
OCSP_MODES = (OCSP_ENABLED, OCSP_SOFT_FAIL)

#: how long a CRL without nextUpdate is reused before it is fetched again
DEFAULT_TTL = timedelta(minutes=5)


class FetchError(Exception):
    """A distribution point or responder could not be read (timeout, refused, too large,
    HTTP error)."""


CrlFetchError = FetchError


class RevocationProblem(Exception):
    """The certificate is revoked, or its status could not be established (fail closed).

    ``unchecked``: no source gave a usable answer (what OCSP ``soft-fail`` forgives);
    ``unreachable``: none could even be read (no answer at all, good or bad: what
    ``roleport explain``, away from the server's network, reports as not checked).
    """

    def __init__(self, message: str, *, revoked: bool, unchecked: bool = False,
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.revoked = revoked
        self.unchecked = unchecked
        self.unreachable = unreachable


class CrlFetcher(Protocol):
    def __call__(self, url: str, /) -> bytes:
        """The body at ``url``; raises FetchError."""


class OcspFetcher(Protocol):
    def __call__(self, url: str, request: bytes, /) -> bytes:
        """POST the DER ``request`` to ``url``, return the body; raises FetchError."""


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


def ocsp_mode(tags: Sequence[Tag]) -> str | None:
    """The OCSP mode a trust anchor's tags ask for (``None``: no OCSP checking).

    A value other than those of :data:`OCSP_MODES` (the tag API cannot refuse it) is
    kept as it is: :meth:`OcspChecker.check` then fails closed and says why.
    """
    for tag in tags:
        if tag.key == OCSP_TAG:
            value = tag.value.strip().lower()
            return None if value in ("", "disabled", "off", "false") else value
    return None


class OcspChecker:
    """Asks the OCSP responders of a path; verified answers kept until their nextUpdate
    (LRU beyond ``max_entries``; an answer without nextUpdate for ``default_ttl``)."""

    def __init__(self, fetcher: OcspFetcher, *, max_skew: timedelta = timedelta(minutes=5),
                 max_entries: int = 4096, default_ttl: timedelta = DEFAULT_TTL) -> None:
        self._fetcher = fetcher
        self._skew = max_skew
        self._entries: OrderedDict[tuple[Certificate, Certificate],
                                   tuple[datetime, str, ocsp.OcspAnswer]] = OrderedDict()
        self._max = max_entries
        self._ttl = default_ttl
        self._lock = threading.Lock()

    def check(self, path: Sequence[Certificate], mode: str, now: datetime, *,
              skip_unreachable: bool = False) -> list[str]:
        """Check every certificate of ``path`` (``[leaf, ..., anchor CA]``) that names an
        OCSP responder against its issuer. Returns what was established, one line per
        certificate ("good at URL", "unchecked: ..."); raises RevocationProblem.

        ``skip_unreachable`` (``roleport explain``): a certificate none of whose
        responders could be read is passed over, whatever the mode, and once the rest of
        the path is checked a RevocationProblem with ``unreachable`` says which."""
        if mode not in OCSP_MODES:
            raise RevocationProblem(
                f"the trust anchor's {OCSP_TAG} tag has the value {mode!r}; expected one of "
                f"{', '.join(OCSP_MODES)} (refusing rather than guessing)", revoked=False)
        notes: list[str] = []
        unreached: list[str] = []
        for certificate, issuer in pairwise(path):
            if not certificate.ocsp_urls:
                continue
            try:
                url, answer = self.answer(certificate, issuer, now)
            except RevocationProblem as exc:
                if exc.unreachable and skip_unreachable:
                    unreached.append(exc.message)
                    continue
                if exc.unchecked and mode == OCSP_SOFT_FAIL:
                    notes.append(f"{_name(certificate)}: unchecked (soft-fail): {exc.message}")
                    continue
                raise
            if answer.status == ocsp.REVOKED:
                reason = f"{answer.revocation_reason}, " if answer.revocation_reason else ""
                raise RevocationProblem(
                    f"certificate serial {certificate.serial_hex} ({_name(certificate)}) is "
                    f"revoked ({reason}since {_iso(answer.revoked_at)}) according to the "
                    f"OCSP responder at {url}", revoked=True)
            if answer.status == ocsp.UNKNOWN:
                raise RevocationProblem(
                    f"the OCSP responder at {url} does not know certificate serial "
                    f"{certificate.serial_hex} ({_name(certificate)}): status unknown",
                    revoked=False)
            notes.append(f"{_name(certificate)}: good at {url}")
        if unreached:
            raise RevocationProblem("; ".join(unreached), revoked=False, unchecked=True,
                                    unreachable=True)
        return notes

    def answer(self, certificate: Certificate, issuer: Certificate,
               now: datetime) -> tuple[str, ocsp.OcspAnswer]:
        """A verified answer about ``certificate`` (cached, else from its responders)."""
        key = (certificate, issuer)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1], hit[2]
        problems = []
        answered = False  # some responder sent something (a bad answer is still one)
        for url in certificate.ocsp_urls:
            request = ocsp.build_request(certificate, issuer)
            try:
                body = self._fetcher(url, request.der)
            except FetchError as exc:
                problems.append(f"{url}: {exc}")
                continue
            answered = True
            try:
                answer = ocsp.verify_response(body, request, certificate, issuer, now,
                                              max_skew=self._skew)
            except CryptoError as exc:
                problems.append(f"{url}: {exc.full}")
                continue
            expires = answer.next_update or now + self._ttl
            with self._lock:
                self._entries[key] = (expires, url, answer)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            return url, answer
        raise RevocationProblem(
            f"no valid OCSP answer for certificate serial {certificate.serial_hex} "
            f"({_name(certificate)}) (" + "; ".join(problems) + ")",
            revoked=False, unchecked=True, unreachable=not answered)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _name(cert: Certificate) -> str:
    return cert.subject_dn or f"serial {cert.serial_hex}"


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"
