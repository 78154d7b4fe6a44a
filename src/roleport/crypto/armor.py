"""PEM armour: DER bytes between ``-----BEGIN LABEL-----`` lines, 64 columns wide."""

from __future__ import annotations

import base64


def pem(der: bytes, label: str) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"
