"""Opaque, tamper-evident page tokens for keyset pagination.

A token names the last ``seq`` returned, bound to the list it came from and to the
caller's account and region, and authenticated with a server-side key: a token that was
edited, or used on another list, is refused with a ValidationException.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from roleport.crypto.secrets import constant_time_equals, hmac_sha256
from roleport.domain.context import Scope
from roleport.errors import ValidationError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PageRequest:
    after_seq: int | None
    size: int


class PageTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, listing: str, scope: Scope, payload: bytes) -> bytes:
        msg = b"\n".join([listing.encode(), scope.account_id.encode(), scope.region.encode(),
                          payload])
        return hmac_sha256(self._key, msg)[:_MAC_BYTES]

    def encode(self, listing: str, scope: Scope, last_seq: int) -> str:
        payload = json.dumps({"s": last_seq}, separators=(",", ":")).encode()
        return _b64(payload) + "." + _b64(self._mac(listing, scope, payload))

    def decode(self, listing: str, scope: Scope, token: str) -> int:
        try:
            payload_text, mac_text = token.split(".")
            payload, mac = _unb64(payload_text), _unb64(mac_text)
            ok = constant_time_equals(mac, self._mac(listing, scope, payload))
            seq = json.loads(payload)["s"] if ok else None
        except (ValueError, KeyError, TypeError):
            seq = None
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValidationError("Invalid pagination token: it was not issued by this "
                                  "listing, or it was altered.")
        return seq

    def request(self, listing: str, scope: Scope, token: str | None,
                page_size: int | None) -> PageRequest:
        if page_size is None:
            size = DEFAULT_PAGE_SIZE
        elif not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValidationError(f"1 validation error detected: Value '{page_size}' at "
                                  f"'pageSize' failed to satisfy constraint: Member must have "
                                  f"value between 1 and {MAX_PAGE_SIZE}")
        else:
            size = page_size
        after = self.decode(listing, scope, token) if token else None
        return PageRequest(after, size)

    def next_token(self, listing: str, scope: Scope, items: list, size: int) -> str | None:
        """The token for the page after ``items``, when ``items`` holds one extra item."""
        if len(items) <= size:
            return None
        return self.encode(listing, scope, items[size - 1].seq)
