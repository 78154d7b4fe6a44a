"""A SPIRE-shaped test world: trust-domain CAs, X.509-SVIDs as SPIFFE wants them (one URI
SAN, CA false, digitalSignature, empty subject), JWKS bundles, and a loopback HTTPS
bundle endpoint (https_web profile, its own TLS CA) whose bundles a test can rotate."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from roleport.crypto import devpki

from .clients.support import loopback_http


def spire_ca(trust_domain: str, name: str = "SPIRE CA") -> devpki.IssuedCertificate:
    """A trust-domain CA as SPIRE makes them: a URI SAN naming the trust domain."""
    return devpki.create_root_ca(name, subject=[("C", "US"), ("O", "SPIFFE"), ("CN", name)],
                                 sans=[f"URI:spiffe://{trust_domain}"])


def svid(ca: devpki.IssuedCertificate, spiffe_id: str, cn: str | None = None,
         **options) -> devpki.IssuedCertificate:
    """An X.509-SVID: one URI SAN, CA false, keyUsage digitalSignature, and no subject DN
    (unless ``cn``)."""
    options.setdefault("key_usage", {"digital_signature"})
    options.setdefault("extended_key_usage", ["client_auth"])
    options.setdefault("days", 1)
    return devpki.issue_leaf(ca, cn, sans=[f"URI:{spiffe_id}"], **options)


def bundle(*authorities: devpki.IssuedCertificate, refresh_hint: int | None = 3600,
           sequence: int = 1) -> bytes:
    """A SPIFFE bundle (JWKS) with one x509-svid key per authority, and a jwt-svid key
    (which Roleport must ignore)."""
    keys = [{"use": "x509-svid", "kty": "EC", "crv": "P-256",
             "x5c": [base64.b64encode(a.certificate.der).decode()]} for a in authorities]
    keys.append({"use": "jwt-svid", "kty": "EC", "kid": "jwt-1", "crv": "P-256",
                 "x": "AAAA", "y": "AAAA"})
    document: dict[str, object] = {"keys": keys, "spiffe_sequence": sequence}
    if refresh_hint is not None:
        document["spiffe_refresh_hint"] = refresh_hint
    return json.dumps(document).encode()


@dataclass
class BundleEndpoint:
    base: str
    ca_file: Path
    #: path -> bundle bytes (absent or None: HTTP 503)
    bundles: dict[str, bytes | None] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)


@contextmanager
def bundle_endpoint(directory: Path) -> Iterator[BundleEndpoint]:
    tls_ca = devpki.create_root_ca("Bundle Endpoint Test CA")
    server_cert = devpki.issue_server_certificate(tls_ca)
    files = devpki.save(server_cert, directory, "bundle-endpoint")
    ca_file = directory / "bundle-endpoint-ca.pem"
    ca_file.write_text(tls_ca.cert_pem)
    endpoint = BundleEndpoint("", ca_file)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            endpoint.hits[self.path] = endpoint.hits.get(self.path, 0) + 1
            body = endpoint.bundles.get(self.path)
            if body is None:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(files.certificate), str(files.key))
    with loopback_http(Handler, tls=context) as base:
        endpoint.base = base
        yield endpoint
