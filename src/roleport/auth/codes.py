"""The wire code of an authentication failure depends on the caller's protocol family.

JSON services (Roles Anywhere) answer ``InvalidSignatureException``; query services (IAM,
STS) answer ``SignatureDoesNotMatch``, as AWS does.
"""

from __future__ import annotations

_JSON = {
    "missing": "MissingAuthenticationTokenException",
    "incomplete": "IncompleteSignatureException",
    "unknown-key": "UnrecognizedClientException",
    "signature": "InvalidSignatureException",
    "expired-signature": "InvalidSignatureException",
    "scope": "InvalidSignatureException",
    "expired-token": "ExpiredTokenException",
    "invalid-token": "UnrecognizedClientException",
    "not-authorized": "AccessDeniedException",
}

_QUERY = {
    "missing": "MissingAuthenticationToken",
    "incomplete": "IncompleteSignature",
    "unknown-key": "InvalidClientTokenId",
    "signature": "SignatureDoesNotMatch",
    "expired-signature": "SignatureDoesNotMatch",
    "scope": "SignatureDoesNotMatch",
    "expired-token": "ExpiredToken",
    "invalid-token": "InvalidClientTokenId",
    "not-authorized": "AccessDenied",
}


def wire_code(kind: str, protocol: str | None) -> str:
    table = _QUERY if protocol == "query" else _JSON
    return table.get(kind, table["signature"])
