"""Who a verified signature belongs to, and the lookup the SigV4 verifier calls.

Long-term access keys (the admin keys of each account) live in the database; they are
cached briefly in memory, because every control-plane request needs one. Temporary
credentials minted by Roleport (``ASIA...`` keys) are recognised from their session
token alone (:class:`SessionTokenLookup`), without a database read.
:class:`CredentialLookup` sends each key to the right one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from roleport.auth.verifier import Credential
from roleport.errors import AuthenticationError
from roleport.storage.base import UnitOfWorkFactory
from roleport.storage.sealing import UnreadableSecret
from roleport.sts.claims import SessionClaims
from roleport.sts.credentials import SessionCredentials, is_session_key
from roleport.sts.errors import ExpiredSessionToken, InvalidSessionToken
from roleport.sts.tokens import INVALID_MESSAGE

log = logging.getLogger("roleport.auth")


@dataclass(frozen=True)
class Identity:
    """An authenticated principal."""

    account_id: str
    principal_arn: str
    #: ``UserId`` as GetCallerIdentity shows it
    user_id: str
    #: "admin" for long-term keys, "assumed-role" for credentials Roleport minted
    kind: str = "admin"
    access_key_id: str = ""
    #: the SigV4 services this identity may call; None for all of them
    services: frozenset[str] | None = None
    #: the session's claims, for credentials Roleport minted
    session: SessionClaims | None = None


#: minted credentials may call STS (GetCallerIdentity, the presigned-URL pattern); the
#: control plane and IAM need an account's admin keys
SESSION_SERVICES = frozenset({"sts"})


class AccessKeyLookup:
    """``lookup(access_key_id, session_token)`` over the stored long-term keys.

    A long-term key has no session token: a request that carries one with it is refused
    (``invalid-token``) as AWS refuses it, whatever the token, before any database read.
    The secrets are sealed in the database; the cache holds them opened, so the hot path
    pays the decryption once per key and TTL, not per request.
    """

    def __init__(self, store: UnitOfWorkFactory, ttl_seconds: float = 30.0) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, access_key_id: str, session_token: str | None) -> Credential | None:
        if session_token:
            raise AuthenticationError("invalid-token", INVALID_MESSAGE)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            with self._store() as uow:
                key = uow.access_keys.get(access_key_id)
        except UnreadableSecret as exc:
            log.error("access key %s refused: its stored secret does not open (%s)",
                      access_key_id, exc)
            key = None
        credential = None
        if key is not None and key.enabled:
            credential = Credential(
                secret_access_key=key.secret_access_key,
                identity=Identity(account_id=key.account_id, principal_arn=key.principal_arn,
                                  user_id=key.account_id if key.principal_arn.endswith(":root")
                                  else key.access_key_id,
                                  kind="admin", access_key_id=access_key_id))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            # unknown keys are cached briefly too, so a flood of bad keys cannot hammer the DB
            self._cache[access_key_id] = (now + (self._ttl if credential else 2.0), credential)
        return credential



class SessionTokenLookup:
    """``lookup(access_key_id, session_token)`` for credentials Roleport minted.

    A missing, altered or foreign token is ``invalid-token``, an expired one
    ``expired-token``; neither message says anything about the token's content.
    """

    def __init__(self, credentials: SessionCredentials) -> None:
        self._credentials = credentials

    def __call__(self, access_key_id: str, session_token: str | None) -> Credential:
        try:
            verified = self._credentials.verify(access_key_id, session_token)
        except ExpiredSessionToken as exc:
            raise AuthenticationError("expired-token", str(exc)) from None
        except InvalidSessionToken as exc:
            raise AuthenticationError("invalid-token", str(exc)) from None
        claims = verified.claims
        return Credential(
            secret_access_key=verified.secret_access_key,
            identity=Identity(account_id=claims.account_id,
                              principal_arn=claims.assumed_role_arn,
                              user_id=claims.assumed_role_id, kind="assumed-role",
                              access_key_id=access_key_id, services=SESSION_SERVICES,
                              session=claims))


class CredentialLookup:
    """Long-term keys from the database, minted ``ASIA`` keys from their session token."""

    def __init__(self, long_term: AccessKeyLookup, sessions: SessionTokenLookup) -> None:
        self.long_term = long_term
        self.sessions = sessions

    def __call__(self, access_key_id: str, session_token: str | None) -> Credential | None:
        if is_session_key(access_key_id):
            return self.sessions(access_key_id, session_token)
        return self.long_term(access_key_id, session_token)
