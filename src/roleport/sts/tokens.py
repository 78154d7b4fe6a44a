"""Session tokens: the session's claims, compressed and sealed (AES-256-GCM) under a
server key, with the key's id in the clear so any replica knows which key opens it.

Layout (then unpadded URL-safe base64, so the token needs no escaping in a header or a
presigned URL)::

    header = b"RPT" || version (1 byte) || len(key id) (1 byte) || key id (ASCII)
    token  = header || seal(token key, body, aad=header)
    body   = zlib(JSON claims)   version 1: claims longer than 512 bytes (a session policy)
             JSON claims         version 2: the usual few hundred bytes, where compressing
                                 would cost more time than the bytes it saves are worth

The token key is HKDF(server key, "roleport/sts-session-token"): the raw server key is
never used for two purposes. Every way a token can be wrong (not base64, unknown
version or key id, altered by one bit, a claim missing) raises the same
:class:`InvalidSessionToken` with the same message, so a caller learns nothing about
the token from the error.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from datetime import UTC, datetime
from typing import Any

from roleport.crypto.errors import CryptoError
from roleport.crypto.secrets import open_, seal
from roleport.sts.claims import OriginIdentity, SessionClaims
from roleport.sts.errors import InvalidSessionToken
from roleport.sts.keyring import Keyring

MAGIC = b"RPT"
VERSION_ZLIB = 1
VERSION_PLAIN = 2
#: claims up to this many bytes are sealed as they are (version 2)
COMPRESS_ABOVE = 512
PURPOSE = "sts-session-token"
#: refuse anything longer before doing any work (AWS tokens run to a few KB)
MAX_TOKEN_CHARS = 16 * 1024
_MAX_PLAINTEXT = 64 * 1024
#: zlib with a 4 KB window and small hash tables: the default 32 KB window costs more to
#: set up than compressing a few KB. Any zlib inflater reads it.
_DEFLATE_WBITS, _DEFLATE_MEM_LEVEL = 12, 4
INVALID_MESSAGE = "The security token included in the request is invalid."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def _time(value: Any) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not a time")
    return datetime.fromtimestamp(value, tz=UTC)


def _claims_json(c: SessionClaims) -> dict[str, Any]:
    out: dict[str, Any] = {"k": c.access_key_id, "a": c.account_id, "r": c.role_arn,
                           "i": c.role_id, "n": c.session_name, "c": _epoch(c.issued_at),
                           "x": _epoch(c.expires_at)}
    if c.source_identity is not None:
        out["s"] = c.source_identity
    if c.session_tags:
        out["t"] = [[k, v] for k, v in c.session_tags]
    if c.session_policy is not None:
        out["p"] = c.session_policy
    if c.policy_arns:
        out["m"] = list(c.policy_arns)
    if c.origin_identity is not None:
        origin = c.origin_identity
        out["o"] = {k: v for k, v in (("s", origin.subject), ("t", origin.subject_type),
                                      ("i", origin.issuer)) if v is not None}
    return out


def _origin_from(data: Any) -> OriginIdentity | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("bad origin identity")
    optional = {k: _str(data[k]) if k in data else None for k in ("t", "i")}
    return OriginIdentity(subject=_str(data["s"]), subject_type=optional["t"],
                          issuer=optional["i"])


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _claims_from(data: Any) -> SessionClaims:
    if not isinstance(data, dict):
        raise ValueError("not an object")
    tags = data.get("t", [])
    if not isinstance(tags, list) or not all(isinstance(t, list) and len(t) == 2 for t in tags):
        raise ValueError("bad tags")
    arns = data.get("m", [])
    if not isinstance(arns, list):
        raise ValueError("bad policy arns")
    return SessionClaims(
        access_key_id=_str(data["k"]), account_id=_str(data["a"]), role_arn=_str(data["r"]),
        role_id=_str(data["i"]), session_name=_str(data["n"]),
        issued_at=_time(data["c"]), expires_at=_time(data["x"]),
        source_identity=_str(data["s"]) if "s" in data else None,
        session_tags=tuple((_str(k), _str(v)) for k, v in tags),
        session_policy=_str(data["p"]) if "p" in data else None,
        policy_arns=tuple(_str(a) for a in arns), origin_identity=_origin_from(data.get("o")))


def _compress(data: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, _DEFLATE_WBITS, _DEFLATE_MEM_LEVEL)
    return deflater.compress(data) + deflater.flush()


def _header(key_id: str, version: int) -> bytes:
    kid = key_id.encode("ascii")
    if not 0 < len(kid) < 256:
        raise ValueError("key id must be 1..255 ASCII characters")
    return MAGIC + bytes([version, len(kid)]) + kid


class SessionTokenCodec:
    """``seal(claims) -> token`` under the current key; ``open(token) -> claims``."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def seal(self, claims: SessionClaims) -> str:
        key_id = self._keyring.current
        key = self._keyring.derived(key_id, PURPOSE)
        assert key is not None
        body = json.dumps(_claims_json(claims), separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
        if len(body) > COMPRESS_ABOVE:
            header, body = _header(key_id, VERSION_ZLIB), _compress(body)
        else:
            header = _header(key_id, VERSION_PLAIN)
        return _b64(header + seal(key, body, aad=header))

    def open(self, token: str) -> SessionClaims:
        return self.open_with_key_id(token)[1]

    def open_with_key_id(self, token: str) -> tuple[str, SessionClaims]:
        """The id of the server key that sealed ``token``, and its claims."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidSessionToken(INVALID_MESSAGE)
        try:
            raw = _unb64(token)
            if raw[:3] != MAGIC or len(raw) < 5 or raw[3] not in (VERSION_ZLIB, VERSION_PLAIN):
                raise ValueError("not a Roleport session token")
            end = 5 + raw[4]
            header, sealed = raw[:end], raw[end:]
            key_id = header[5:].decode("ascii")
            key = self._keyring.derived(key_id, PURPOSE)
            if key is None:
                raise ValueError("unknown key id")
            plain = open_(key, sealed, aad=header)
            if raw[3] == VERSION_ZLIB:
                inflater = zlib.decompressobj()
                plain = inflater.decompress(plain, _MAX_PLAINTEXT)
                if inflater.unconsumed_tail:
                    raise ValueError("too large")
            return key_id, _claims_from(json.loads(plain.decode("utf-8")))
        except (CryptoError, ValueError, KeyError, TypeError, IndexError, zlib.error,
                UnicodeDecodeError, binascii.Error):
            raise InvalidSessionToken(INVALID_MESSAGE) from None
