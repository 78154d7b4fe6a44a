"""A loopback OCSP responder for tests, built with ``cryptography``'s OCSP builders.

Each certificate serial gets a :class:`Behaviour` (status, validity window, who signs,
whether the nonce is echoed); every POST is counted, so a test can tell a cached answer
from a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from roleport.crypto.devpki import IssuedCertificate

from .clients.support import loopback_http


@dataclass
class Behaviour:
    status: str = "good"  # good | revoked | unknown
    #: who signs: the issuer, a delegated responder certificate, or any key
    signer: IssuedCertificate | None = None
    include_signer: bool = False
    this_update: timedelta = timedelta(minutes=-1)
    next_update: timedelta | None = timedelta(hours=1)
    echo_nonce: bool = True
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise


@dataclass
class Responder:
    issuer: IssuedCertificate
    url: str = ""
    behaviours: dict[int, Behaviour] = field(default_factory=dict)
    hits: dict[int, int] = field(default_factory=dict)

    def answer(self, body: bytes) -> bytes:
        request = ocsp.load_der_ocsp_request(body)
        serial = request.serial_number
        self.hits[serial] = self.hits.get(serial, 0) + 1
        how = self.behaviours.get(serial, Behaviour())
        now = datetime.now(UTC)
        status = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED,
                  "unknown": ocsp.OCSPCertStatus.UNKNOWN}[how.status]
        signer = how.signer or self.issuer
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=serial, algorithm=request.hash_algorithm, cert_status=status,
            this_update=now + how.this_update,
            next_update=now + how.next_update if how.next_update is not None else None,
            revocation_time=now - timedelta(days=1) if how.status == "revoked" else None,
            revocation_reason=how.reason if how.status == "revoked" else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate._x509)
        if how.include_signer:
            builder = builder.certificates([signer.certificate._x509])
        if how.echo_nonce:
            try:
                nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
                builder = builder.add_extension(nonce, critical=False)
            except x509.ExtensionNotFound:
                pass
        response = builder.sign(signer.key._key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)


@contextmanager
def ocsp_responder(issuer: IssuedCertificate) -> Iterator[Responder]:
    responder = Responder(issuer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                answer = responder.answer(body)
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    with loopback_http(Handler) as base:
        responder.url = f"{base}/ocsp"
        yield responder
