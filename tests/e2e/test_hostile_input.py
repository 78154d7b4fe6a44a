"""Hostile bytes on every path that parses them, through a real ``roleport serve``.

Each request is what an attacker would send (raw, often unsigned or signed with garbage
where no valid signature is needed to reach the parser). Each must be a 4xx in AWS's error
shape, with a message in Roleport's or AWS's words (never a library's), and leave no
traceback in the server log: the precise cause is one access-log line (``cause``).
docs/security.md, "Parsing client bytes", lists the paths and their limits.
"""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import quote

import httpx
import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import Setup, tls_context
from .test_wire import signed

#: words of Python's json and codecs, of cryptography's ASN.1 parser: never to a caller
LIBRARY_WORDS = re.compile(r"Expecting|line \d+ column|codec|char \d|asn1|ParseError|"
                           r"UnexpectedTag|Traceback|Exceeds the limit|surrogates not allowed|"
                           r"Errno|InvalidData|byte 0x", re.IGNORECASE)
GARBAGE_AUTHORIZATION = ("AWS4-X509-RSA-SHA256 Credential=1/20260101/us-east-1/rolesanywhere/"
                         "aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
ANCHOR = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/" \
         "0ace5b12-24b9-427e-a483-c55884852fbf"
ARNS = {"trustAnchorArn": ANCHOR, "profileArn": ANCHOR.replace("trust-anchor", "profile"),
        "roleArn": "arn:aws:iam::123456789012:role/x"}


class ServerLog:
    """The server's output from the start of one test on."""

    def __init__(self, server: RoleportServer) -> None:
        self.server = server
        self.start = len(server.output)

    def lines(self) -> list[str]:
        return self.server.output[self.start:]

    def access_line(self, request_id: str) -> dict:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for line in self.lines():
                if request_id in line and '"event": "request"' in line:
                    return json.loads(line)
            time.sleep(0.02)
        raise AssertionError(f"no access log line for {request_id}")


@pytest.fixture()
def log(server: RoleportServer) -> ServerLog:
    return ServerLog(server)


def refused(response: httpx.Response, log: ServerLog, status: int | tuple[int, ...],
            code: str | None = None) -> tuple[str, dict]:
    """Assert a client error in AWS's shape; returns the message and the access log line."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.text[:300]
    request_id = response.headers["x-amzn-RequestId"]
    if response.headers.get("content-type", "").startswith("text/xml"):
        found = re.search(r"<Code>(.*?)</Code><Message>(.*?)</Message>", response.text, re.DOTALL)
        assert found, response.text
        got_code, message = found.groups()
    else:
        got_code = response.headers["x-amzn-ErrorType"]
        message = response.json()["message"]
    if code is not None:
        assert got_code == code, (got_code, message)
    assert not LIBRARY_WORDS.search(message), message
    line = log.access_line(request_id)
    assert line["status"] == response.status_code
    assert not any("Traceback" in text or "unexpected failure" in text for text in log.lines())
    return message, line


def sessions(server: RoleportServer, body: bytes, *, headers: dict[str, str] | None = None,
             query: str = "") -> httpx.Response:
    """POST /sessions with an X.509 Authorization header whose signature is garbage."""
    sent = {"Authorization": GARBAGE_AUTHORIZATION, "Content-Type": "application/json",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), **(headers or {})}
    return httpx.post(f"{server.endpoint}/sessions{query}", content=body,
                      headers=[(k.encode(), v.encode("latin-1")) for k, v in sent.items()],
                      verify=tls_context(server), timeout=30)


# -- POST /sessions: everything before the signature is checked ----------------------------

SESSION_BODIES = {
    "nested 1,000 levels": b"[" * 1000 + b"]" * 1000,
    "nested objects 5,000 levels": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "never closed": b"[" * 200_000,
    "integer of 5,000 digits": b'{"durationSeconds": ' + b"9" * 5000 + b"}",
    "integer past 32 bits": b'{"durationSeconds": 9223372000000000000}',
    "float past a double": b'{"durationSeconds": 1e999}',
    "NaN": b'{"durationSeconds": NaN}',
    "not UTF-8": b'{"roleArn": "\xff\xfe"}',
    "UTF-16": json.dumps(ARNS).encode("utf-16"),
    "not JSON": b"nope",
    "trailing garbage": json.dumps(ARNS).encode() + b"}",
    "null": b"null",
    "an array": b"[1, 2]",
    "lone surrogate in a map": json.dumps({**ARNS, "instanceProperties": {"\ud800": "x"}})
    .encode(),
    "lone surrogate in a name": json.dumps({**ARNS, "roleSessionName": "a\udfffb"}).encode(),
    "20,000 members": ("{" + ",".join(f'"k{i}":1' for i in range(20_000)) + "}").encode(),
}


@pytest.mark.parametrize("body", SESSION_BODIES.values(), ids=SESSION_BODIES.keys())
def test_create_session_refuses_a_hostile_body_before_authentication(server, log, body):
    refused(sessions(server, body), log, 400, "SerializationException")


def test_json_limit_messages_name_the_limit_not_the_library(server, log) -> None:
    message, line = refused(sessions(server, b"[" * 33 + b"]" * 33), log, 400)
    assert message == "The request body nests JSON deeper than 32 levels."
    message, line = refused(sessions(server, b"{nope"), log, 400)
    assert message == "The request body is not valid JSON."
    assert "Expecting property name" in line["cause"]  # json's words: log only
    message, line = refused(sessions(server, b"\xff"), log, 400)
    assert message == "The request body is not valid UTF-8."
    assert "codec" in line["cause"]


SESSION_HEADERS = {
    "certificate not base64": {"X-Amz-X509": "!!!"},
    "certificate not DER": {"X-Amz-X509": base64.b64encode(b"\x30\x03\x02\x01\x01").decode()},
    "certificate of 60 KB": {"X-Amz-X509": "A" * 60_000},
    "chain of 1,000 items": {"X-Amz-X509": "AAAA", "X-Amz-X509-Chain": ",".join(["AAAA"] * 1000)},
    "authorization of garbage": {"Authorization": "AWS4-X509-RSA-SHA256 " + "x" * 5000},
    "authorization without fields": {"Authorization": "AWS4-X509-"},
    "hex serial of 5,000 digits": {"Authorization": GARBAGE_AUTHORIZATION.replace(
        "Credential=1", "Credential=0x" + "f" * 5000)},
    "serial of latin-1 digits": {"Authorization": GARBAGE_AUTHORIZATION.replace(
        "Credential=1", "Credential=\xb2\xb3")},
    "date of garbage": {"X-Amz-Date": "99999999T999999Z"},
    "date of 5,000 digits": {"X-Amz-Date": "9" * 5000},
}


@pytest.mark.parametrize("headers", SESSION_HEADERS.values(), ids=SESSION_HEADERS.keys())
def test_create_session_refuses_hostile_signature_headers(server, log, headers) -> None:
    refused(sessions(server, json.dumps(ARNS).encode(), headers=headers), log, (400, 403))


QUERIES = {
    "bad percent-encoding": "?%zz=%ff%fe&profileArn=%ff",
    "5,000 parameters": "?" + "&".join(f"p{i}=1" for i in range(5000)),
    "arn of 5,000 characters": "?profileArn=" + "a" * 5000,
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_create_session_refuses_a_hostile_query_string(server, log, query) -> None:
    refused(sessions(server, json.dumps(ARNS).encode(), query=query), log, (400, 403))


@pytest.fixture()
def world(server: RoleportServer, pki) -> Setup:
    return Setup(server, server.new_account(), [pki.root])


# -- the control plane (signed: parsing errors of an authenticated caller) ----------------


def test_control_plane_bodies_within_limits(server, account, log) -> None:
    cases = [b"[" * 1000 + b"]" * 1000,
             b'{"name": "p", "roleArns": [], "durationSeconds": ' + b"9" * 5000 + b"}",
             b'{"name": "p", "roleArns": [], "durationSeconds": 2147483648}',
             b"\xff", b'{"name": "p", "roleArns": [], "tags": [{"key": "\\ud800", "value": ""}]}']
    for body in cases:
        refused(signed(server, account, "POST", "/profiles", body), log, 400,
                "SerializationException")


@pytest.mark.parametrize("query", ["pageSize=2147483648", "pageSize=" + "9" * 5000,
                                   "pageSize=%C2%B2", "nextToken=" + "A" * 9000])
def test_control_plane_query_strings(server, account, log, query) -> None:
    refused(signed(server, account, "GET", f"/trustanchors?{query}"), log, 400)


@pytest.mark.parametrize("policy", ["[" * 5000, '{"Version": ' + "9" * 5000 + "}",
                                    '{"Version": "\\ud800"}', '{"a":' * 50 + "1" + "}" * 50])
def test_a_hostile_session_policy_is_a_validation_error(server, account, log, policy) -> None:
    body = json.dumps({"name": "p", "roleArns": [], "sessionPolicy": policy}).encode()
    refused(signed(server, account, "POST", "/profiles", body), log, 400)


GARBAGE_DER = base64.b64encode(b"\x30\x03\x02\x01\x01").decode()


def test_certificate_bundle_that_does_not_parse_says_so_in_our_words(server, account,
                                                                      log) -> None:
    pem = f"-----BEGIN CERTIFICATE-----\n{GARBAGE_DER}\n-----END CERTIFICATE-----\n"
    body = json.dumps({"name": "a", "source": {"sourceType": "CERTIFICATE_BUNDLE",
                                               "sourceData": {"x509CertificateData": pem}}})
    message, line = refused(signed(server, account, "POST", "/trustanchors", body.encode()),
                            log, 400, "ValidationException")
    assert message == "Invalid x509CertificateData: certificate 1 could not be parsed"
    assert "asn1" in line["cause"].lower()  # what cryptography said: the log only


@pytest.mark.parametrize("crl", [b"\x30\x03\x02\x01\x01", b"garbage", b"\xff" * 1000,
                                 b"-----BEGIN X509 CRL-----\n!!\n-----END X509 CRL-----\n"])
def test_crl_data_that_does_not_parse_says_so_in_our_words(server, account, log, pki,
                                                           crl) -> None:
    ra = server.client("rolesanywhere", account)
    anchor = ra.create_trust_anchor(name="a", source={
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": pki.root.cert_pem}})["trustAnchor"]
    body = {"name": "c", "crlData": base64.b64encode(crl).decode(),
            "trustAnchorArn": anchor["trustAnchorArn"]}
    message, line = refused(signed(server, account, "POST", "/crls", json.dumps(body).encode()),
                            log, 400, "ValidationException")
    assert message == "Invalid crlData: CRL could not be parsed"
    assert line["cause"]
    good = ra.import_crl(name="ok", crlData=devpki.create_crl(pki.root).pem.encode(),
                         trustAnchorArn=anchor["trustAnchorArn"])["crl"]
    update = json.dumps({"crlData": base64.b64encode(crl).decode()}).encode()
    message, _ = refused(signed(server, account, "PATCH", f"/crl/{good['crlId']}", update),
                         log, 400, "ValidationException")
    assert message == "Invalid crlData: CRL could not be parsed"


def test_hostile_attribute_mappings_and_tags(server, account, log) -> None:
    ra = server.client("rolesanywhere", account)
    profile = ra.create_profile(name="p", roleArns=[])["profile"]
    path = f"/profiles/{profile['profileId']}/mappings"
    for rule in ({"specifier": "\\ud800"}, {"specifier": "x" * 600_000},
                 {"specifier": ["[" * 40 + "]" * 40]}):
        body = ('{"certificateField": "x509Subject", "mappingRules": [' + json.dumps(rule)
                .replace("\\\\ud800", "\\ud800") + "]}").encode()
        refused(signed(server, account, "PUT", path, body), log, 400)
    tags = json.dumps({"resourceArn": profile["profileArn"],
                       "tags": [{"key": "k", "value": "v" * 100_000}]}).encode()
    refused(signed(server, account, "POST", "/TagResource", tags), log, 400)


@pytest.mark.parametrize("expires", ["9" * 5000, "%C2%B2", "-1"])
def test_a_presigned_url_with_a_hostile_expiry_is_refused(server, log, expires) -> None:
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + quote(
        "AKIAEXAMPLE/20260101/us-east-1/rolesanywhere/aws4_request", safe="")
        + "&X-Amz-Date=20261207T130000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
        + f"&X-Amz-Expires={expires}")
    response = httpx.get(f"{server.endpoint}/trustanchors?{query}", verify=tls_context(server))
    refused(response, log, 403)


HMAC_SCOPE = "AKIAEXAMPLE/20260101/us-east-1/rolesanywhere/aws4_request"
HMAC_AUTHORIZATION = {
    "garbage": "AWS4-HMAC-SHA256 " + "x" * 20_000,
    "5,000 slashes": "AWS4-HMAC-SHA256 Credential=" + "/" * 5000
    + ", SignedHeaders=host, Signature=00",
    "10,000 signed headers": f"AWS4-HMAC-SHA256 Credential={HMAC_SCOPE}, SignedHeaders="
    + ";".join(f"h{i}" for i in range(10_000)) + ", Signature=00",
    "latin-1 letters": f"AWS4-HMAC-SHA256 Credential={HMAC_SCOPE}\xe9\xff, "
    "SignedHeaders=host, Signature=\xb2",
    "repeated parameters": ", ".join([f"AWS4-HMAC-SHA256 Credential={HMAC_SCOPE}"] * 500),
    "no algorithm": "=, =, =",
}


@pytest.mark.parametrize("value", HMAC_AUTHORIZATION.values(), ids=HMAC_AUTHORIZATION.keys())
@pytest.mark.parametrize("path", ["/trustanchors", "/"])
def test_a_hostile_hmac_authorization_header_is_refused(server, log, value, path) -> None:
    headers = [(b"authorization", value.encode("latin-1")),
               (b"x-amz-date", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()).encode())]
    if path == "/":  # IAM: the credential scope names the service
        headers[0] = (b"authorization", value.replace("rolesanywhere", "iam").encode("latin-1"))
    response = httpx.get(f"{server.endpoint}{path}?Action=ListRoles&Version=2010-05-08",
                         headers=headers, verify=tls_context(server))
    refused(response, log, (400, 403))


# -- IAM and STS (query protocol, form bodies) ----------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CREATE_ROLE = b"Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument="
IAM_BODIES = {
    "not UTF-8": b"Action=ListRoles&Version=2010-05-08&\xff",
    "index of 5,000 digits": CREATE_ROLE + b"%7B%7D&Tags.member." + b"9" * 5000 + b".Key=a",
    "max items of 5,000 digits": b"Action=ListRoles&Version=2010-05-08&MaxItems=" + b"9" * 5000,
    "max items past 32 bits": b"Action=ListRoles&Version=2010-05-08&MaxItems=2147483648",
    "policy nested 20,000 levels": CREATE_ROLE + b"%5B" * 20000,
    "policy integer of 5,000 digits": CREATE_ROLE + b"%7B%22Version%22%3A" + b"9" * 5000
    + b"%7D",
    "policy with a lone surrogate": CREATE_ROLE + b"%7B%22Version%22%3A%22%5Cud800%22%7D",
    "policy that is not JSON": CREATE_ROLE + b"%7Bnope",
    "10,000 fields": b"Action=ListRoles&Version=2010-05-08&"
    + b"&".join(b"a%d=1" % i for i in range(10_000)),
}


@pytest.mark.parametrize("body", IAM_BODIES.values(), ids=IAM_BODIES.keys())
def test_iam_refuses_a_hostile_form(server, account, log, body) -> None:
    response = signed(server, account, "POST", "/", body, service="iam", headers=FORM)
    refused(response, log, (400, 409))


@pytest.mark.parametrize("body", [
    b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/r"
    b"&RoleSessionName=session&DurationSeconds=" + b"9" * 5000,
    b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/r"
    b"&RoleSessionName=session&Policy=" + b"%5B" * 5000,
    b"Action=GetCallerIdentity&Version=2011-06-15&\xc3",
])
def test_sts_refuses_a_hostile_form(server, account, log, body) -> None:
    response = signed(server, account, "POST", "/", body, service="sts", headers=FORM)
    refused(response, log, (400, 403))
