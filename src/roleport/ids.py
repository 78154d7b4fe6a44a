"""Identifiers Roleport hands out."""

from __future__ import annotations

import base64
import secrets
import uuid


def new_uuid() -> str:
    """A lower-case uuid4, the shape of every Roles Anywhere resource id."""
    return str(uuid.uuid4())


def _base32(n_chars: int) -> str:
    raw = secrets.token_bytes((n_chars * 5 + 7) // 8)
    return base64.b32encode(raw).decode("ascii")[:n_chars]


def new_access_key_id(prefix: str = "AKIA") -> str:
    """An AWS-shaped access key id: a 4-letter prefix and 16 base32 characters."""
    return prefix + _base32(16)


def new_secret_access_key() -> str:
    """40 characters of the AWS secret alphabet (base64 without padding)."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def new_unique_id(prefix: str) -> str:
    """IAM unique ids such as ``AROA...`` for roles: prefix + 17 base32 characters."""
    return prefix + _base32(17)
