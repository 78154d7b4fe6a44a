"""Request rate limits: AWS's quotas, as token buckets shared by a server's workers.

* **CreateSession**, before any cryptography: one bucket per certificate (the SHA-256 of
  the leaf's DER as sent in ``X-Amz-X509``) and one per source address (IPv6 by /64), as
  AWS rate-limits its credential endpoint "by the authenticating certificate information
  and IP address". Default 10 a second each: AWS's CreateSession quota (10 TPS per
  account and Region), which no fleet in one account can exceed on AWS either.
* **Roles Anywhere control plane**, after authentication: one bucket per access key and
  API family (trust anchors, profiles, subjects, tagging, CRLs), 1 a second by default:
  AWS's "combined rate of ... requests" quotas, each 1 per second.
* **IAM** and **STS**, per access key: AWS publishes no numbers for these (its throttling
  is "Rate exceeded" with a token bucket per API); the defaults are Roleport's own.

A request over a limit gets :class:`ThrottlingError` (429 ``ThrottlingException`` on Roles
Anywhere, 400 ``Throttling`` on IAM and STS, as AWS answers; ``Retry-After`` and
``x-amz-retry-after``), which every AWS SDK retries with back-off. Each refusal is counted
in :attr:`RequestThrottle.throttled` and reported to ``on_throttle`` (the hook for
metrics).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from roleport.errors import ThrottlingError
from roleport.server.auth_throttle import source_key
from roleport.server.ratelimit import Rate
from roleport.server.shared_buckets import SharedBuckets

#: Roles Anywhere's rate quota families (AWS user guide, "Quotas"), by a word of the
#: operation name; notification settings belong to trust anchors, attribute mappings to
#: profiles (AWS lists neither)
_FAMILIES = (("Subject", "subject"), ("Tag", "tagging"), ("Untag", "tagging"),
             ("Crl", "crl"), ("TrustAnchor", "trust-anchor"),
             ("NotificationSettings", "trust-anchor"), ("Profile", "profile"),
             ("AttributeMapping", "profile"))


def rolesanywhere_family(operation: str) -> str:
    for word, family in _FAMILIES:
        if word in operation:
            return family
    return "other"


@dataclass(frozen=True)
class RequestRates:
    """The request rate limits of one server; None turns a limit off."""

    create_session_per_certificate: Rate | None = Rate(10.0, 10)
    create_session_per_source: Rate | None = Rate(10.0, 10)
    #: per access key and API family
    rolesanywhere_per_key: Rate | None = Rate(1.0, 10)
    iam_per_key: Rate | None = Rate(10.0, 20)
    sts_per_key: Rate | None = Rate(100.0, 200)

    @classmethod
    def off(cls) -> RequestRates:
        return cls(None, None, None, None, None)

    def with_(self, **rates: Rate | None) -> RequestRates:
        return replace(self, **rates)

    @property
    def any(self) -> bool:
        return any(r is not None for r in (self.create_session_per_certificate,
                                           self.create_session_per_source,
                                           self.rolesanywhere_per_key, self.iam_per_key,
                                           self.sts_per_key))


def certificate_key(x509_header: str) -> str:
    """The bucket of a CreateSession certificate: the SHA-256 of its DER (of the header
    as sent when it is not base64)."""
    try:
        der = base64.b64decode("".join(x509_header.split()), validate=True)
    except (binascii.Error, ValueError):
        der = x509_header.encode("utf-8", "surrogatepass")
    return hashlib.sha256(der).hexdigest()


class RequestThrottle:
    def __init__(self, rates: RequestRates, table: SharedBuckets | None = None, *,
                 on_throttle: Callable[[str], None] | None = None) -> None:
        self.rates = rates
        self._table = table or SharedBuckets(groups=1024)
        #: refusals by limit name, in this process (``create-session-certificate``...)
        self.throttled: Counter[str] = Counter()
        self.on_throttle = on_throttle
        self._per_key = {"rolesanywhere": rates.rolesanywhere_per_key,
                         "iam": rates.iam_per_key, "sts": rates.sts_per_key}

    def _take(self, limit: str, key: str, rate: Rate | None) -> None:
        if rate is None:
            return
        wait = self._table.take(limit, key, rate)
        if wait > 0.0:
            self.throttled[limit] += 1
            if self.on_throttle is not None:
                self.on_throttle(limit)
            raise ThrottlingError("Rate exceeded",
                                  retry_after_seconds=max(1, math.ceil(wait)))

    def create_session(self, client: str, x509_header: str) -> None:
        """Count one CreateSession from ``client`` with the certificate of ``x509_header``
        (raise :class:`ThrottlingError` when over a limit)."""
        self._take("create-session-source", source_key(client),
                   self.rates.create_session_per_source)
        if x509_header:
            self._take("create-session-certificate", certificate_key(x509_header),
                       self.rates.create_session_per_certificate)

    def authenticated(self, service: str, operation: str, access_key_id: str) -> None:
        """Count one request of ``operation`` signed with ``access_key_id``."""
        rate = self._per_key.get(service)
        if rate is None or not access_key_id:
            return
        scope = rolesanywhere_family(operation) if service == "rolesanywhere" else ""
        self._take(f"{service}-key", f"{access_key_id}/{scope}", rate)
