"""Failed authentication attempts, throttled per source address and per access key.

A wrong secret (a signature that does not match), an unknown access key id or an invalid
session token takes a token from the bucket of the request's source address; a wrong
secret also takes one from the bucket of the access key it names. A correct signature
never takes a token. When a bucket is empty:

* **source address**: every request from that address is throttled, correct signatures
  included, until a token is back (as Vault does): guessing cannot go on from there by
  mixing in a valid request, and an attacker only locks out their own address. IPv6
  addresses count by /64, the block one host usually holds.
* **access key**: wrong-secret attempts for that key are throttled, from any address; a
  request correctly signed with it is still served, so whoever knows a key id (it is not
  secret) cannot lock its owner out.

Throttled requests get AWS's throttling error (``ThrottlingException``, HTTP 429, for Roles
Anywhere; ``Throttling``, HTTP 400, for IAM and STS), which SDKs back off on and retry.
Counts are shared by the workers of a server (given the server's
:class:`~roleport.server.shared_buckets.SharedBuckets` table) and kept per replica.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from roleport.errors import ThrottlingError
from roleport.server.ratelimit import Rate, TokenBuckets

if TYPE_CHECKING:
    from roleport.server.shared_buckets import SharedBuckets

#: authentication failures counted against the source address / against the access key
SOURCE_FAILURES = frozenset({"signature", "unknown-key", "invalid-token"})
KEY_FAILURES = frozenset({"signature"})


def source_key(address: str) -> str:
    """The bucket of a client address: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class FailedAuthThrottle:
    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic,
                 table: SharedBuckets | None = None) -> None:
        self._sources: Any
        self._keys: Any
        if table is not None:  # shared by the workers
            self._sources = table.buckets("auth-source", rate)
            self._keys = table.buckets("auth-key", rate)
        else:
            self._sources = TokenBuckets(rate, clock=clock)
            self._keys = TokenBuckets(rate, clock=clock)

    def check_source(self, address: str) -> None:
        """Refuse any request from a source whose failures emptied its bucket."""
        key = source_key(address)
        if self._sources.empty(key):
            raise _throttled(self._sources.seconds_until_token(key))

    def failed(self, address: str, access_key_id: str | None, kind: str) -> None:
        """Count one failed authentication of ``kind`` (an AuthenticationError kind);
        raise :class:`ThrottlingError` instead of the failure when over the rate."""
        waits = []
        if kind in SOURCE_FAILURES:
            key = source_key(address)
            if not self._sources.take(key):
                waits.append(self._sources.seconds_until_token(key))
        if kind in KEY_FAILURES and access_key_id and not self._keys.take(access_key_id):
            waits.append(self._keys.seconds_until_token(access_key_id))
        if waits:
            raise _throttled(max(waits))


def _throttled(wait_seconds: float) -> ThrottlingError:
    retry_after = max(1, math.ceil(wait_seconds))
    return ThrottlingError("Rate exceeded: too many failed authentication attempts. "
                           f"Retry in {retry_after} seconds.", retry_after_seconds=retry_after)
