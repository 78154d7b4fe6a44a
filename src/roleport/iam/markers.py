"""IAM's ``Marker``: an opaque, tamper-evident position in a listing.

A marker names the last key returned (a role name, a policy name, a tag key), bound to
the listing and the account it came from, and authenticated with a server-side key.
Lists are walked by key inside the database, so a marker stays valid while items are
added or removed around it.
"""

from __future__ import annotations

import base64
import json

from roleport.crypto.secrets import constant_time_equals, hmac_sha256
from roleport.errors import ValidationError

_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Markers:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, listing: str, account_id: str, payload: bytes) -> bytes:
        msg = b"\n".join([b"iam-marker", listing.encode(), account_id.encode(), payload])
        return hmac_sha256(self._key, msg)[:_MAC_BYTES]

    def encode(self, listing: str, account_id: str, last_key: str) -> str:
        payload = json.dumps({"k": last_key}, separators=(",", ":")).encode()
        return _b64(payload) + "." + _b64(self._mac(listing, account_id, payload))

    def decode(self, listing: str, account_id: str, marker: str) -> str:
        key = None
        try:
            payload_text, mac_text = marker.split(".")
            payload, mac = _unb64(payload_text), _unb64(mac_text)
            if constant_time_equals(mac, self._mac(listing, account_id, payload)):
                key = json.loads(payload)["k"]
        except (ValueError, KeyError, TypeError):
            key = None
        if not isinstance(key, str):
            raise ValidationError("Invalid Marker: it was not returned by this listing, or "
                                  "it was altered.")
        return key
