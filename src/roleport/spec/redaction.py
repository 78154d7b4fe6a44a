"""Parameters and results with their secrets removed, driven by the service models.

botocore marks secret shapes ``"sensitive": true`` (IAM's ``passwordType``, STS's
``accessKeySecretType``, Roles Anywhere's tag keys and values...); our own model marks the
credentials of CreateSession the same way. A value of such a shape becomes
``HIDDEN_DUE_TO_SECURITY_REASONS``, as CloudTrail writes it. A short list of member names
covers what the models leave unmarked (STS's ``SessionToken`` is a plain ``tokenType``),
and a second one the bulky values that are summarised by their SHA-256 rather than
copied (certificate bundles, CRLs).

Which shapes need a look is computed once per shape, so a request whose input holds
nothing secret pays a dictionary lookup, not a walk.
"""

from __future__ import annotations

import hashlib
from typing import Any

import botocore.model

__all__ = ["HIDDEN", "SECRET_MEMBERS", "SUMMARISED_MEMBERS", "redact", "summary"]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

#: secret whatever their shape says
SECRET_MEMBERS = frozenset({
    "secretAccessKey", "SecretAccessKey", "sessionToken", "SessionToken",
    "password", "Password", "privateKey", "PrivateKey", "SAMLAssertion", "WebIdentityToken",
})
#: not secret, but too large to copy into every record: their SHA-256 and length
SUMMARISED_MEMBERS = frozenset({"x509CertificateData", "crlData", "x509Certificate",
                                "x509CertificateChain"})

_needs: dict[int, bool] = {}
_keep: list[botocore.model.Shape] = []  # the shapes whose id() is a key of _needs


def summary(value: str | bytes) -> dict[str, Any]:
    data = value.encode() if isinstance(value, str) else bytes(value)
    return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}


def _needs_redaction(shape: botocore.model.Shape) -> bool:
    key = id(shape)
    found = _needs.get(key)
    if found is not None:
        return found
    _needs[key] = False  # a recursive shape refers to itself: not (yet) a reason
    _keep.append(shape)
    if shape.metadata.get("sensitive"):
        found = True
    elif isinstance(shape, botocore.model.StructureShape):
        found = any(name in SECRET_MEMBERS or name in SUMMARISED_MEMBERS
                    or _needs_redaction(member) for name, member in shape.members.items())
    elif isinstance(shape, botocore.model.ListShape):
        found = _needs_redaction(shape.member)
    elif isinstance(shape, botocore.model.MapShape):
        found = _needs_redaction(shape.key) or _needs_redaction(shape.value)
    else:
        found = False
    _needs[key] = found
    return found


def redact(shape: botocore.model.Shape | None, value: Any) -> Any:
    """``value`` (of ``shape``, wire names) without its secrets; the input is not changed."""
    if value is None or shape is None:
        return value
    if shape.metadata.get("sensitive"):
        return HIDDEN
    if not _needs_redaction(shape):
        return value
    if isinstance(shape, botocore.model.StructureShape) and isinstance(value, dict):
        members = shape.members
        out = {}
        for name, item in value.items():
            if name in SECRET_MEMBERS:
                out[name] = HIDDEN
            elif name in SUMMARISED_MEMBERS and isinstance(item, str | bytes):
                out[name] = summary(item)
            else:
                out[name] = redact(members.get(name), item)
        return out
    if isinstance(shape, botocore.model.ListShape) and isinstance(value, list):
        return [redact(shape.member, item) for item in value]
    if isinstance(shape, botocore.model.MapShape) and isinstance(value, dict):
        hide_keys = bool(shape.key.metadata.get("sensitive"))
        return {HIDDEN if hide_keys else k: redact(shape.value, v) for k, v in value.items()}
    return value
