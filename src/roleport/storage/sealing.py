"""Secrets at rest: what the database holds instead of a secret access key.

A stored secret is sealed (AES-256-GCM, :func:`roleport.crypto.secrets.seal`) under a
key-encryption key (KEK) derived from a keyring: the server keys, or a separate ring
from ``ROLEPORT_SECRETS_KEY`` / ``ROLEPORT_SECRETS_KEY_FILE``. The row keeps the KEK's id
in the clear, so a rotated ring still opens what an older key sealed::

    rp-sealed:1:<key id>:<urlsafe base64 of nonce || ciphertext || tag>

The access key id is the associated data: a sealed secret copied into another key's row
does not open. A value without the prefix is a secret stored in plain text by a version
before the sealing (migration 0003 seals them); it still reads, so nothing breaks
between the upgrade of the code and that of the data.
"""

from __future__ import annotations

import base64
import binascii

from roleport.crypto.errors import CryptoError
from roleport.crypto.secrets import open_, seal
from roleport.storage.base import StorageError
from roleport.sts.keyring import Keyring

PREFIX = "rp-sealed:1:"
PURPOSE = "secrets-at-rest"


class UnreadableSecret(StorageError):
    """A stored secret that the keyring cannot open (unknown key id, or altered)."""


class SecretSealer:
    """Seal and open stored secrets with the current KEK of ``keyring``."""

    def __init__(self, keyring: Keyring) -> None:
        self._ring = keyring

    @property
    def current_key_id(self) -> str:
        return self._ring.current

    def seal(self, plaintext: str, context: str) -> str:
        key = self._ring.derived(self._ring.current, PURPOSE)
        assert key is not None  # the current key is always in the ring
        blob = seal(key, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{PREFIX}{self._ring.current}:" + \
            base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")

    def open(self, stored: str, context: str) -> str:
        """The plaintext of ``stored`` (a plain-text legacy value is returned as it is)."""
        if not is_sealed(stored):
            return stored
        key_id, _, body = stored[len(PREFIX):].partition(":")
        key = self._ring.derived(key_id, PURPOSE)
        if key is None:
            raise UnreadableSecret(f"sealed under key {key_id}, which is not in the keyring")
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return open_(key, blob, context.encode("utf-8")).decode("utf-8")
        except (CryptoError, binascii.Error, ValueError, UnicodeDecodeError):
            raise UnreadableSecret(f"sealed under key {key_id}, but does not open "
                                   f"(altered, or moved from another row)") from None

    def needs_reseal(self, stored: str) -> bool:
        """Plain text, or sealed under a key other than the current one."""
        return not stored.startswith(f"{PREFIX}{self._ring.current}:")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
