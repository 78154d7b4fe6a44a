"""What the CreateSession end-to-end tests share: an account set up with a trust anchor,
a role and a profile through boto3, a CreateSession request signed by our own X.509
signer and posted over HTTPS, and a small HTTP server for CRL distribution points."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx

from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import sign_x509_request
from roleport.crypto.devpki import IssuedCertificate
from roleport.testing import Account, RoleportServer

EXPIRATION = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
TRUST_ACTIONS = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]


def trust_policy(actions: list[str] | None = None,
                 condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow",
                                 "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                                 "Action": actions or TRUST_ACTIONS}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class Setup:
    """One account with a trust anchor, a role and a profile, ready for CreateSession."""

    server: RoleportServer
    account: Account
    anchors: list[IssuedCertificate]
    ra: Any = None
    iam: Any = None
    trust_anchor: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    role_arn: str = ""

    def __post_init__(self) -> None:
        self.ra = self.server.client("rolesanywhere", self.account)
        self.iam = self.server.client("iam", self.account)
        bundle = "".join(a.cert_pem for a in self.anchors)
        self.trust_anchor = self.ra.create_trust_anchor(name="ca", enabled=True, source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": bundle}})["trustAnchor"]
        self.role_arn = self.role("workload")
        self.profile = self.new_profile()

    def role(self, name: str, *, policy: str | None = None, max_session: int = 3600) -> str:
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy
                                    or trust_policy(),
                                    MaxSessionDuration=max_session)["Role"]["Arn"]

    def new_profile(self, **kw: Any) -> dict[str, Any]:
        kw.setdefault("roleArns", [self.role_arn])
        return self.ra.create_profile(name="p", enabled=kw.pop("enabled", True),
                                      **kw)["profile"]

    @property
    def arns(self) -> dict[str, str]:
        return {"profileArn": self.profile["profileArn"], "roleArn": self.role_arn,
                "trustAnchorArn": self.trust_anchor["trustAnchorArn"]}


def post_session(server: RoleportServer, leaf: IssuedCertificate, *,
                 body: dict[str, Any] | bytes | None = None, query: dict[str, str] | None = None,
                 chain: list | None = None, sign: Callable[[bytes], bytes] | None = None,
                 headers: list[tuple[str, str]] | None = None,
                 signed_headers: list[str] | None = None, algorithm: str | None = None,
                 now: datetime | None = None, region: str | None = None,
                 chunked: bool = False, credential: str | None = None,
                 tamper: Callable[[list[tuple[str, str]], bytes],
                                  tuple[list[tuple[str, str]], bytes]] | None = None,
                 ) -> httpx.Response:
    """Sign and send one CreateSession; returns the raw response.

    ``credential`` replaces the serial in ``Credential=``; ``tamper`` changes the signed
    headers and body before they are sent (a forged or broken request)."""
    netloc = urlsplit(server.endpoint).netloc
    payload = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    raw_query = urlencode(query or {}, safe="", quote_via=_quote)
    base = [("host", netloc), ("content-type", "application/json"), *(headers or [])]
    request = sign_x509_request(
        SigningRequest("POST", "/sessions", raw_query, base, payload),
        certificate=leaf.certificate, sign=sign or leaf.key.sign,
        region=region or server.region, now=now or datetime.now(UTC),
        chain=leaf.intermediates if chain is None else chain, algorithm=algorithm,
        signed_headers=signed_headers, credential=credential)
    url = f"{server.endpoint}/sessions" + (f"?{raw_query}" if raw_query else "")
    sent = [(n, v) for n, v in request.headers if n != "host"]
    if tamper is not None:
        sent, payload = tamper(sent, payload)
    content: Any = iter([payload]) if chunked else payload  # an iterator goes chunked
    return httpx.post(url, content=content, headers=sent, verify=tls_context(server),
                      timeout=30)


def tls_context(server: RoleportServer) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=str(server.ca_bundle)) if server.ca_bundle \
        else False


def _quote(value: str, safe: str = "", encoding: str | None = None,
           errors: str | None = None) -> str:
    from urllib.parse import quote

    return quote(value, safe="-_.~")


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert "credentialSet" not in body, "an error must not carry credentials"
    return response.status_code, response.headers.get("x-amzn-ErrorType", ""), body["message"]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def loopback_http(handler: type[BaseHTTPRequestHandler],
                  tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``handler`` on a loopback port in a thread; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def crl_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP server; put ``path -> CRL bytes`` in the dict it yields."""
    routes: dict[str, bytes] = {}
    with loopback_http(type("Handler", (_Handler,), {"routes": routes})) as base:
        yield base, routes


def audit_reason(server: RoleportServer, who: str) -> str:
    """``check: reason`` of the server's latest CreateSession audit line about ``who`` (its
    subject DN or SPIFFE ID): the text the subject record keeps, without a CLI call.

    Log lines reach the output shortly after their response (the background writer
    gathers them for up to 50 ms): wait for the writer first, then look for up to 5 s."""
    import time

    time.sleep(0.25)
    deadline = time.monotonic() + 5
    while True:
        for line in reversed(server.output):
            if '"audit"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("log") == "audit" and who in (entry.get("x509Subject"),
                                                      entry.get("spiffeId")):
                return f"{entry.get('check')}: {entry.get('reason')}"
        if time.monotonic() > deadline:
            raise AssertionError(f"no audit line about {who}")
        time.sleep(0.05)


def sts_identity(server: RoleportServer, credentials: dict[str, str]) -> dict[str, Any]:
    """STS GetCallerIdentity on the server with CreateSession's ``credentials``."""
    import boto3

    sts = boto3.session.Session().client(
        "sts", region_name=server.region, endpoint_url=server.endpoint,
        verify=str(server.ca_bundle), aws_access_key_id=credentials["accessKeyId"],
        aws_secret_access_key=credentials["secretAccessKey"],
        aws_session_token=credentials["sessionToken"])
    return sts.get_caller_identity()


def metrics_text(server: RoleportServer) -> str:
    return httpx.get(server.endpoint + "/_roleport/metrics", verify=tls_context(server)).text
