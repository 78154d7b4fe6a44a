"""Schemathesis against a live ``roleport serve``: requests generated from the server's own
``/_roleport/openapi.json``, signed with botocore's SigV4Auth (the account's admin keys)
or, for CreateSession, with a client certificate; every answer checked.

Properties of every answer (:meth:`Fuzzer.check`):

* no 5xx, and an answer within :data:`TIMEOUT` seconds (no hang);
* an error is AWS-shaped for its protocol: botocore's own response parser reads an error
  code, a message and the request id from it (rest-json: JSON body + ``x-amzn-RequestId``,
  query: ``<ErrorResponse>`` XML with ``<RequestId>``);
* a success parses with botocore's parser for the operation.

Half of the generated cases get real identifiers (of resources seeded in the account) in
place of the generated ones, so that the fuzzer reaches past "not found".

Used by tests/e2e/test_fuzz.py (a CI-sized run) and ``make fuzz`` (>= 100,000 requests).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import botocore.auth
import botocore.parsers
import requests
import schemathesis
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import sign_x509_request
from roleport.client.signers import FileSigner
from roleport.spec.models import load_service
from roleport.spec.openapi import OPENAPI_PATH, flatten_query
from roleport.testing import Account, RoleportServer

#: seconds an answer may take (the server's own request deadline is well below)
TIMEOUT = 20.0
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: generated names of identifiers -> the kind of seeded resource that replaces them
_ID_KINDS = {"trustAnchorId": "trust_anchor_id", "profileId": "profile_id", "crlId": "crl_id",
             "subjectId": "subject_id", "RoleName": "role_name",
             "resourceArn": "any_arn", "trustAnchorArn": "trust_anchor_arn",
             "profileArn": "profile_arn", "roleArn": "role_arn", "RoleArn": "role_arn"}


class NotSendable(Exception):
    """A generated case that no HTTP client can put on the wire (a header with a newline)."""


@dataclass
class Failure:
    operation: str
    reason: str
    request: str
    status: int | None = None
    body: str = ""

    def __str__(self) -> str:
        return (f"{self.operation}: {self.reason} (status {self.status})\n  request: "
                f"{self.request[:600]}\n  answer: {self.body[:600]}")


@dataclass
class Tally:
    requests: int = 0
    unsendable: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_code: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"{self.requests} requests ({self.unsendable} generated cases not sendable) "
                 f"over {len(self.by_operation)} operations in {self.seconds:.0f} s; "
                 f"{len(self.failures)} failures",
                 "status: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.by_status.items())),
                 "codes: " + ", ".join(f"{k}: {v}" for k, v in self.by_code.most_common(25))]
        return "\n".join(lines)


class Fuzzer:
    def __init__(self, server: RoleportServer, account: Account,
                 certificate: Any = None) -> None:
        self.server = server
        self.account = account
        self.http = requests.Session()
        self.verify: str | bool = str(server.ca_bundle) if server.ca_bundle else False
        document = self.http.get(server.endpoint + OPENAPI_PATH, verify=self.verify,
                                 timeout=TIMEOUT).json()
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)
        self.operations = [r.ok() for r in self.schema.get_all_operations()]
        self.signer = FileSigner(certificate.certificate_path, certificate.private_key_path,
                                 certificate.chain_path) if certificate is not None else None
        self.tally = Tally()
        self.seeded: dict[str, list[str]] = {}
        self._rng = random.Random(0)

    # -- one operation ---------------------------------------------------------------

    def definition(self, operation: Any) -> dict[str, Any]:
        return self.document["paths"][operation.path][operation.method.lower()]

    def run(self, operation: Any, mode: GenerationMode, examples: int, *,
            derandomize: bool) -> None:
        started = time.perf_counter()

        @settings(max_examples=examples, deadline=None, database=None,
                  derandomize=derandomize, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def send_all(case: Any) -> None:
            self.exchange(operation, case)

        send_all()
        self.tally.seconds += time.perf_counter() - started

    def exchange(self, operation: Any, case: Any) -> None:
        definition = self.definition(operation)
        op_id = definition["operationId"]
        self._substitute(case)
        try:
            prepared = self._prepare(definition, case)
        except NotSendable:
            self.tally.unsendable += 1
            return
        self.tally.requests += 1
        self.tally.by_operation[op_id] += 1
        shown = f"{prepared.method} {prepared.url} body={prepared.body!r}"
        try:
            response = self.http.send(prepared, verify=self.verify, timeout=TIMEOUT)
        except requests.Timeout:
            self.tally.failures.append(Failure(op_id, f"no answer in {TIMEOUT} s", shown))
            return
        except requests.ConnectionError as exc:
            self.tally.failures.append(Failure(op_id, f"connection failed: {exc}", shown))
            return
        self.tally.by_status[response.status_code] += 1
        reason = self.check(definition, response)
        if reason:
            self.tally.failures.append(Failure(op_id, reason, shown, response.status_code,
                                               response.text))

    # -- building and signing the request --------------------------------------------------

    def _substitute(self, case: Any) -> None:
        """Real identifiers instead of generated ones, in about half of the cases."""
        if not self.seeded or self._rng.random() < 0.5:
            return
        for container in (case.path_parameters, case.query,
                          case.body if isinstance(case.body, dict) else None):
            if not container:
                continue
            for key in list(container):
                kind = _ID_KINDS.get(key)
                if kind and self.seeded.get(kind) and isinstance(container[key], str):
                    container[key] = self._rng.choice(self.seeded[kind])

    def _prepare(self, definition: dict[str, Any], case: Any) -> requests.PreparedRequest:
        signing_name = definition["x-aws-signing-name"]
        body_value = case.body if not isinstance(case.body, schemathesis.core.NotSet) \
            else None
        if definition.get("x-aws-protocol") == "query":
            path, query = "/", ""
            service, _, action = definition["operationId"].partition(".")
            shape = load_service(service).model.operation_model(action).input_shape
            if isinstance(body_value, dict):
                flat = flatten_query(shape, body_value)
                body = urlencode(flat, errors="surrogatepass").encode()
            else:
                body = _raw(body_value)
            headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        else:
            path = case.formatted_path
            query = urlencode({k: _text(v) for k, v in (case.query or {}).items()},
                              doseq=True, errors="surrogatepass")
            if body_value is None:
                body = b""
            elif isinstance(body_value, (bytes, bytearray)):
                body = bytes(body_value)
            else:
                body = json.dumps(body_value).encode("utf-8", "surrogatepass")
            headers = {"Content-Type": "application/json"} if body else {}
        for name, value in (case.headers or {}).items():
            text = _text(value)
            if not _header_ok(name, text):
                raise NotSendable(name)
            headers[name] = text
        url = self.server.endpoint + path + (f"?{query}" if query else "")
        if definition["operationId"] == "rolesanywhere-sessions.CreateSession" and self.signer:
            return self._x509_signed(url, headers, body)
        request = AWSRequest(method=case.method.upper(), url=url, data=body, headers=headers)
        credentials = Credentials(self.account.access_key_id, self.account.secret_access_key)
        botocore.auth.SigV4Auth(credentials, signing_name, self.server.region).add_auth(request)
        return _to_requests(request.method, request.url, dict(request.headers.items()), body)

    def _x509_signed(self, url: str, headers: dict[str, str], body: bytes
                     ) -> requests.PreparedRequest:
        assert self.signer is not None
        parts = urlsplit(url)
        unsigned = SigningRequest("POST", parts.path, parts.query,
                                  [(k.lower(), v) for k, v in headers.items()]
                                  + [("host", parts.netloc)], body)
        with self.signer.lock:
            self.signer.refresh()
            signed = sign_x509_request(unsigned, certificate=self.signer.certificate,
                                       sign=self.signer.sign, region=self.server.region,
                                       now=datetime.now(UTC), chain=self.signer.chain)
        return _to_requests("POST", url, {k: v for k, v in signed.headers if k != "host"}, body)

    # -- the properties ----------------------------------------------------------------

    def check(self, definition: dict[str, Any], response: requests.Response) -> str | None:
        status = response.status_code
        if status >= 500:
            return "a 5xx answer"
        service_name, _, action = definition["operationId"].partition(".")
        service = load_service(service_name)
        operation = service.model.operation_model(action)
        protocol = service.protocol
        try:
            parsed = botocore.parsers.create_parser(protocol).parse(
                {"status_code": status, "headers": response.headers,
                 "body": response.content}, operation.output_shape)
        except botocore.parsers.ResponseParserError as exc:
            return f"botocore cannot parse the answer: {str(exc)[:200]}"
        request_id = parsed.get("ResponseMetadata", {}).get("RequestId")
        if status >= 400:
            error = parsed.get("Error", {})
            self.tally.by_code[error.get("Code") or "?"] += 1
            if not error.get("Code"):
                return "an error without an AWS error code"
            if not error.get("Message"):
                return "an error without a message"
            if not request_id:
                return "an error without a request id"
            if protocol == "query" and b"<ErrorResponse" not in response.content:
                return "a query-protocol error that is not an <ErrorResponse> document"
            if protocol != "query":
                try:
                    if not isinstance(json.loads(response.content), dict):
                        return "an error body that is not a JSON object"
                except ValueError:
                    return "an error body that is not JSON"
        elif status == 304 or status < 200:
            return f"an unexpected status {status}"
        elif not request_id:
            return "a success without a request id"
        return None


def _text(value: Any) -> Any:
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _raw(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode("utf-8", "surrogatepass")


def _header_ok(name: str, value: Any) -> bool:
    if not isinstance(value, str) or not name or not name.isascii():
        return False
    if any(c in name for c in " :\r\n\t\x00()<>@,;\\\"/[]?={}") or not name.isprintable():
        return False
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(c in value for c in "\r\n\x00") and value == value.strip()


def _to_requests(method: str, url: str, headers: dict[str, str], body: bytes
                 ) -> requests.PreparedRequest:
    prepared = requests.Request(method, url, headers=headers, data=body).prepare()
    prepared.url = url  # exactly the URL that was signed (requests would re-quote it)
    return prepared


# -- seeding and the state check ----------------------------------------------------------


def seed(server: RoleportServer, account: Account, pki: Any) -> dict[str, list[str]]:
    """A trust anchor, a profile, a CRL, a role and a subject to aim requests at."""
    clients = server.clients(account)
    ra, iam = clients.rolesanywhere, clients.iam
    suffix = f"{random.randrange(1 << 30):x}"
    anchor = ra.create_trust_anchor(name=f"fuzz-{suffix}", enabled=True, source={
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": pki.trust_anchor_pem}})["trustAnchor"]
    role = iam.create_role(RoleName=f"fuzz-{suffix}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]}))["Role"]
    profile = ra.create_profile(name=f"fuzz-{suffix}", roleArns=[role["Arn"]],
                                enabled=True)["profile"]
    crl = ra.import_crl(name=f"fuzz-{suffix}", crlData=pki.crl(),
                        trustAnchorArn=anchor["trustAnchorArn"])["crl"]
    subjects = [s["subjectId"] for s in ra.list_subjects().get("subjects", [])]
    return {"trust_anchor_id": [anchor["trustAnchorId"]],
            "trust_anchor_arn": [anchor["trustAnchorArn"]],
            "profile_id": [profile["profileId"]], "profile_arn": [profile["profileArn"]],
            "crl_id": [crl["crlId"]], "role_name": [role["RoleName"]],
            "role_arn": [role["Arn"]], "subject_id": subjects or [],
            "any_arn": [anchor["trustAnchorArn"], profile["profileArn"], crl["crlArn"]]}


def _pages(call: Any, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return items


def state_problems(server: RoleportServer, account: Account) -> list[str]:
    """Everything listed is readable with its Get*, tags included."""
    clients = server.clients(account)
    ra, iam = clients.rolesanywhere, clients.iam
    problems: list[str] = []

    def readable(what: str, call: Any, **kwargs: Any) -> None:
        try:
            call(**kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure is a finding
            problems.append(f"{what} {kwargs} is listed but not readable: {exc}")

    for anchor in _pages(ra.list_trust_anchors, "trustAnchors", pageSize=50):
        readable("trust anchor", ra.get_trust_anchor, trustAnchorId=anchor["trustAnchorId"])
        readable("tags of", ra.list_tags_for_resource, resourceArn=anchor["trustAnchorArn"])
    for profile in _pages(ra.list_profiles, "profiles", pageSize=50):
        readable("profile", ra.get_profile, profileId=profile["profileId"])
        readable("tags of", ra.list_tags_for_resource, resourceArn=profile["profileArn"])
    for crl in _pages(ra.list_crls, "crls", pageSize=50):
        readable("crl", ra.get_crl, crlId=crl["crlId"])
        readable("tags of", ra.list_tags_for_resource, resourceArn=crl["crlArn"])
    for subject in _pages(ra.list_subjects, "subjects", pageSize=50):
        readable("subject", ra.get_subject, subjectId=subject["subjectId"])
    marker: str | None = None
    while True:
        page = iam.list_roles(**({"Marker": marker} if marker else {}))
        for role in page["Roles"]:
            name = role["RoleName"]
            readable("role", iam.get_role, RoleName=name)
            readable("tags of role", iam.list_role_tags, RoleName=name)
            readable("attached policies of role", iam.list_attached_role_policies,
                     RoleName=name)
            try:
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                    readable("role policy", iam.get_role_policy, RoleName=name,
                             PolicyName=policy)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"inline policies of {name} not listable: {exc}")
        marker = page.get("Marker")
        if not page.get("IsTruncated"):
            break
    return problems
