"""Who a verified signature belongs to, and the lookup the SigV4 verifier calls.

Long-term access keys (the admin keys of each account) live in the database; they are
cached briefly in memory, because every control-plane request needs one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from roleport.auth.verifier import Credential
from roleport.storage.base import UnitOfWorkFactory


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


class AccessKeyLookup:
    """``lookup(access_key_id, session_token)`` over the stored long-term keys."""

    def __init__(self, store: UnitOfWorkFactory, ttl_seconds: float = 30.0) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, access_key_id: str, session_token: str | None) -> Credential | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._store() as uow:
            key = uow.access_keys.get(access_key_id)
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

    def forget(self, access_key_id: str) -> None:
        with self._lock:
            self._cache.pop(access_key_id, None)
