"""The server keys, by key id: one current key seals new session tokens; every key in
the ring still opens the tokens it sealed, until it is retired.

Key ids are derived from the key itself (first 8 hex digits of its SHA-256), so replicas
given the same key agree on its id without coordination. Purpose keys are derived with
HKDF, so the raw server key never touches two mechanisms directly.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from roleport.crypto.secrets import hkdf

MIN_KEY_BYTES = 32


def key_id_of(secret: bytes) -> str:
    """The id of a server key: stable, short, and revealing nothing useful about it."""
    return hashlib.sha256(secret).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    """``current`` seals; every id in ``keys`` opens. Keys are raw bytes (>= 32)."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)
    _derived: dict[tuple[str, str], bytes] = field(default_factory=dict, init=False,
                                                   repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False,
                                  compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current key id {self.current!r} is not in the keyring")
        for key_id, secret in self.keys.items():
            if len(secret) < MIN_KEY_BYTES:
                raise ValueError(f"server key {key_id} is shorter than {MIN_KEY_BYTES} bytes")

    @classmethod
    def of(cls, *secrets: bytes) -> Keyring:
        """A ring from raw keys, the first one current (ids derived from the keys)."""
        if not secrets:
            raise ValueError("a keyring needs at least one key")
        keys = {key_id_of(s): bytes(s) for s in secrets}
        return cls(current=key_id_of(secrets[0]), keys=keys)

    @property
    def current_secret(self) -> bytes:
        return self.keys[self.current]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def derived(self, key_id: str, purpose: str) -> bytes | None:
        """The 32-byte key for ``purpose`` under server key ``key_id``; None if unknown."""
        cache_key = (key_id, purpose)
        with self._lock:
            hit = self._derived.get(cache_key)
        if hit is not None:
            return hit
        secret = self.keys.get(key_id)
        if secret is None:
            return None
        value = hkdf(secret, f"roleport/{purpose}", 32)
        with self._lock:
            self._derived[cache_key] = value
        return value
