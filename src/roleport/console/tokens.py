"""The console's session cookie and its CSRF tokens: stateless, so any worker of any
replica that holds the server keys accepts them.

A session token is ``v1.<server key id>.<payload>.<mac>``: the payload (base64url JSON)
names the access key, its account, the Region, when the session started and when it
ends, and a random nonce; the MAC is HMAC-SHA256 under a key derived from the server key
(:meth:`Keyring.derived`, purpose ``console-session``) over the payload *and* a digest of
the access key's current secret. So a session ends when it expires, when its access key
is disabled or deleted, when the key's secret changes, or when the server key it was
signed under leaves the keyring; nothing is kept in memory or in the database.

A form's CSRF token is an HMAC of the session's nonce (purpose ``console-csrf``). The
sign-in form, before there is a session, carries an HMAC of a random nonce kept in a
short-lived cookie (a double-submit that a cookie planted by a sibling site cannot pass).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from roleport.crypto.errors import CryptoError
from roleport.crypto.secrets import (
    b64url_decode,
    b64url_encode,
    constant_time_equals,
    hmac_sha256,
    random_token,
)
from roleport.sts.keyring import Keyring

VERSION = "v1"
#: a session token longer than this is not one of ours (read before the MAC is checked)
MAX_TOKEN_CHARS = 1024
#: how long a sign-in form stays usable
SIGNIN_FORM_SECONDS = 900

_SESSION = "console-session"
_CSRF = "console-csrf"


def secret_digest(secret_access_key: str) -> bytes:
    """What a session binds of its key's secret: a session dies when the secret changes."""
    return hmac_sha256(secret_access_key, "roleport console session binding")


@dataclass(frozen=True)
class ConsoleSession:
    access_key_id: str
    account_id: str
    region: str
    issued_at: int
    expires_at: int
    nonce: str


#: ``lookup(access_key_id)`` -> (account id, current secret), or None when the key is
#: unknown or disabled
SecretLookup = Callable[[str], "tuple[str, str] | None"]


class SessionTokens:
    def __init__(self, keyring: Keyring, lifetime_seconds: int, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._keyring = keyring
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock

    def _mac(self, key_id: str, payload: str, secret: str) -> bytes | None:
        key = self._keyring.derived(key_id, _SESSION)
        if key is None:
            return None
        return hmac_sha256(key, payload.encode("ascii") + b"." + secret_digest(secret))

    # -- sessions ------------------------------------------------------------------

    def issue(self, access_key_id: str, account_id: str, region: str,
              secret_access_key: str) -> tuple[str, ConsoleSession]:
        now = int(self._clock())
        session = ConsoleSession(access_key_id, account_id, region, now,
                                 now + self.lifetime_seconds, random_token(16))
        payload = b64url_encode(json.dumps({
            "k": session.access_key_id, "a": session.account_id, "r": session.region,
            "iat": session.issued_at, "exp": session.expires_at, "n": session.nonce,
        }, separators=(",", ":")).encode())
        key_id = self._keyring.current
        mac = self._mac(key_id, payload, secret_access_key)
        assert mac is not None
        return f"{VERSION}.{key_id}.{payload}.{b64url_encode(mac)}", session

    def open(self, token: str, lookup: SecretLookup) -> ConsoleSession | None:
        """The session ``token`` carries, or None: forged, altered, expired, signed under
        a key no longer in the ring, or its access key no longer what it was."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != VERSION:
            return None
        _, key_id, payload, mac_text = parts
        try:
            data = json.loads(b64url_decode(payload))
            mac = b64url_decode(mac_text)
            session = ConsoleSession(str(data["k"]), str(data["a"]), str(data["r"]),
                                     int(data["iat"]), int(data["exp"]), str(data["n"]))
        except (ValueError, KeyError, TypeError, CryptoError):
            return None
        found = lookup(session.access_key_id)
        if found is None:
            return None
        account_id, secret = found
        expected = self._mac(key_id, payload, secret)
        if expected is None or not constant_time_equals(expected, mac):
            return None
        now = self._clock()
        if account_id != session.account_id or not (session.issued_at - 60 <= now
                                                     < session.expires_at):
            return None
        return session

    # -- CSRF ----------------------------------------------------------------------

    def _csrf_key(self) -> bytes:
        key = self._keyring.derived(self._keyring.current, _CSRF)
        assert key is not None
        return key

    def csrf_token(self, session: ConsoleSession) -> str:
        return b64url_encode(hmac_sha256(self._csrf_key(), f"session:{session.nonce}"))

    def check_csrf(self, session: ConsoleSession, token: str | None) -> bool:
        return bool(token) and constant_time_equals(self.csrf_token(session), token or "")

    def signin_nonce(self) -> str:
        """A nonce for the sign-in form's cookie: ``<issued at>.<random>``."""
        return f"{int(self._clock())}.{random_token(16)}"

    def signin_csrf(self, nonce: str) -> str:
        return b64url_encode(hmac_sha256(self._csrf_key(), f"signin:{nonce}"))

    def check_signin_csrf(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token or len(nonce) > 128:
            return False
        issued, _, _ = nonce.partition(".")
        if not issued.isdigit() or self._clock() - int(issued) > SIGNIN_FORM_SECONDS:
            return False
        return constant_time_equals(self.signin_csrf(nonce), token)
