"""Stateless temporary credentials: mint them, and recognise them on any replica.

* access key id: ``ASIA`` + 16 base32 characters, random;
* secret access key: 40 characters, derived from the server key and the access key id
  (HMAC under HKDF(server key, "roleport/sts-secret-access-key")), so it is never stored;
* session token: the sealed claims (see :mod:`roleport.sts.tokens`), which name the
  access key id and the server key id.

``verify(access_key_id, token)`` opens the token, checks it belongs to that access key
id, checks the expiration, and returns the claims and the secret the signature must have
used. No database read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from roleport import ids
from roleport.clock import Clock
from roleport.crypto.secrets import constant_time_equals, hmac_sha256
from roleport.sts.claims import OriginIdentity, SessionClaims
from roleport.sts.errors import ExpiredSessionToken, InvalidSessionToken
from roleport.sts.keyring import Keyring
from roleport.sts.tokens import INVALID_MESSAGE, SessionTokenCodec

ACCESS_KEY_PREFIX = "ASIA"
SECRET_PURPOSE = "sts-secret-access-key"
EXPIRED_MESSAGE = "The security token included in the request is expired"


@dataclass(frozen=True)
class MintedCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    claims: SessionClaims


@dataclass(frozen=True)
class VerifiedSession:
    claims: SessionClaims
    secret_access_key: str = field(repr=False)


def is_session_key(access_key_id: str) -> bool:
    return access_key_id.startswith(ACCESS_KEY_PREFIX)


class SessionCredentials:
    def __init__(self, keyring: Keyring, clock: Clock) -> None:
        self._keyring = keyring
        self._clock = clock
        self._tokens = SessionTokenCodec(keyring)

    def _secret(self, key_id: str, access_key_id: str) -> str | None:
        key = self._keyring.derived(key_id, SECRET_PURPOSE)
        if key is None:
            return None
        return base64.b64encode(hmac_sha256(key, access_key_id)[:30]).decode("ascii")

    def mint(self, *, account_id: str, role_arn: str, role_id: str, session_name: str,
             duration_seconds: int, source_identity: str | None = None,
             session_tags: tuple[tuple[str, str], ...] = (),
             session_policy: str | None = None, policy_arns: tuple[str, ...] = (),
             origin_identity: OriginIdentity | None = None,
             now: datetime | None = None) -> MintedCredentials:
        issued = (now or self._clock.now()).replace(microsecond=0)
        access_key_id = ids.new_access_key_id(ACCESS_KEY_PREFIX)
        claims = SessionClaims(
            access_key_id=access_key_id, account_id=account_id, role_arn=role_arn,
            role_id=role_id, session_name=session_name, issued_at=issued,
            expires_at=issued + timedelta(seconds=duration_seconds),
            source_identity=source_identity, session_tags=tuple(session_tags),
            session_policy=session_policy, policy_arns=tuple(policy_arns),
            origin_identity=origin_identity)
        secret = self._secret(self._keyring.current, access_key_id)
        assert secret is not None
        return MintedCredentials(access_key_id, secret, self._tokens.seal(claims), claims)

    def verify(self, access_key_id: str, session_token: str | None) -> VerifiedSession:
        """Raise InvalidSessionToken / ExpiredSessionToken, else the session and secret."""
        if not session_token:
            raise InvalidSessionToken(INVALID_MESSAGE)
        key_id, claims = self._tokens.open_with_key_id(session_token)
        if not constant_time_equals(claims.access_key_id, access_key_id):
            raise InvalidSessionToken(INVALID_MESSAGE)
        if claims.expires_at <= self._clock.now():
            raise ExpiredSessionToken(EXPIRED_MESSAGE)
        secret = self._secret(key_id, access_key_id)
        if secret is None:  # cannot happen: the token opened under this key id
            raise InvalidSessionToken(INVALID_MESSAGE)
        return VerifiedSession(claims, secret)
