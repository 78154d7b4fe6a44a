"""Hand-made requests for the tests of limits and overload: one signed request per API
family (SigV4 with an account's keys, or Roles Anywhere's X.509 SigV4 for CreateSession),
sent over a connection of its own from a chosen loopback address, or laid out as the bytes
of a replayable HTTP/1.1 request; and the error code of an answer, whichever protocol."""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import sign_x509_request
from roleport.crypto import devpki
from roleport.testing import Account, RoleportServer

from .clients.support import Setup

#: method, path, body, headers (without Host)
Request = tuple[str, str, bytes, dict[str, str]]
#: status, headers (lower-case names), body
Answer = tuple[int, dict[str, str], bytes]


def signed_request(server: RoleportServer, account: Account, service: str, *,
                   wrong_secret: bool = False) -> Request:
    """A cheap signed call of the family: ListTrustAnchors, IAM ListRoles or STS
    GetCallerIdentity; ``wrong_secret`` signs with a secret one character off."""
    if service == "rolesanywhere":
        method, path, body, headers = "GET", "/trustanchors", b"", {}
    else:
        action = "ListRoles&Version=2010-05-08" if service == "iam" else \
            "GetCallerIdentity&Version=2011-06-15"
        method, path, body = "POST", "/", f"Action={action}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
    secret = account.secret_access_key + ("x" if wrong_secret else "")
    SigV4Auth(Credentials(account.access_key_id, secret), service, "us-east-1").add_auth(
        request)
    return method, path, body, dict(request.headers.items())


def session_request(server: RoleportServer, setup: Setup,
                    leaf: devpki.IssuedCertificate) -> Request:
    """CreateSession for the setup's ARNs, signed with the leaf's key, its chain attached."""
    netloc = urlsplit(server.endpoint).netloc
    body = json.dumps(setup.arns).encode()
    signed = sign_x509_request(
        SigningRequest("POST", "/sessions", "", [("host", netloc),
                                                 ("content-type", "application/json")], body),
        certificate=leaf.certificate, sign=leaf.key.sign, region=server.region,
        now=datetime.now(UTC), chain=leaf.intermediates)
    return "POST", "/sessions", body, {n: v for n, v in signed.headers if n != "host"}


def send(server: RoleportServer, request: Request, *, source: str = "127.0.0.1",
         timeout: float = 20) -> Answer:
    """One request on a connection of its own (with several workers, SO_REUSEPORT spreads
    such connections over them), from the loopback address ``source``."""
    method, path, body, headers = request
    parts = urlsplit(server.endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, \
            response.read()
    finally:
        conn.close()


def wire_bytes(server: RoleportServer, request: Request) -> bytes:
    """The request as HTTP/1.1 bytes ending the connection after it (replayable within
    the signature window)."""
    method, path, body, headers = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {urlsplit(server.endpoint).netloc}",
             *(f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"),
             f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def error_code(answer: Answer) -> tuple[int, str]:
    """(status, AWS error code): JSON protocol's header, or the XML protocols' <Code>;
    an empty code for a success."""
    status, headers, body = answer
    if "x-amzn-errortype" in headers:
        return status, headers["x-amzn-errortype"]
    if b"<Code>" in body:
        return status, body.split(b"<Code>")[1].split(b"</Code>")[0].decode()
    return status, ""
