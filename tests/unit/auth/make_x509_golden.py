"""Write the golden CreateSession signing files in ``x509_testsuite/`` with botocore.

botocore's ``SigV4Auth`` computes the canonical request, exactly as the
``iam-rolesanywhere-session`` client (a ``SigV4Auth`` subclass) does on the wire; the string
to sign is that client's (the X.509 algorithm name instead of ``AWS4-HMAC-SHA256``). Run from
the repository root after a botocore upgrade::

    PYTHONPATH=src python tests/unit/auth/make_x509_golden.py

Per case, in the format of botocore's ``aws4_testsuite``: ``.req`` (the request without
``Authorization``), ``.creq`` (canonical request) and ``.sts`` (string to sign). There is no
``.authz``/``.sreq``: a signature needs a private key, and test keys are never committed;
``test_x509.py`` signs each ``.req`` with a key made at test time instead. The certificate
headers carry fixed placeholder text, which canonicalizes like any other header value.

The cases are the request shapes of the real clients (clients.md §1.4, §3, §4).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE = Path(__file__).parent / "x509_testsuite"
SIGNED_AT = datetime.datetime(2021, 11, 3, 12, 0, 0)  # the AWS user guide's example date
SERIAL = "11111222223333344444"  # the AWS user guide's example serial
HOST = "rolesanywhere.us-east-1.amazonaws.com"
CERT = "MIIBdDCCARqgAwIBAgIUX509PlaceholderLeafCertificateForGoldenFiles0="
CHAIN = ("MIIBdDCCARqgAwIBAgIUX509PlaceholderIntermediateOne000000000000000=,"
         "MIIBdDCCARqgAwIBAgIUX509PlaceholderIntermediateTwo000000000000000=")
ACCOUNT = "123456789012"
TA = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/4e4c6c8b-6b0f-4a7e-9a54-3c4f1f2b1d9e"
PROFILE = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:profile/0ace5b12-24b9-427e-a483-c55884852fbf"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workload"
BODY = (f'{{"durationSeconds": 3600, "profileArn": "{PROFILE}", "roleArn": "{ROLE}", '
        f'"trustAnchorArn": "{TA}"}}').encode()


def _q(value: str) -> str:
    """Go's url.QueryEscape with + -> %20, as the Go helper's serializer writes the query."""
    return quote(value, safe="-_.~")


def go_query(**params: str) -> str:
    return "&".join(f"{k}={_q(v)}" for k, v in sorted(params.items()))


@dataclass
class Case:
    name: str
    algorithm: str
    target: str = "/sessions"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = BODY
    region: str = "us-east-1"
    host: str = HOST


_X509 = [("X-Amz-X509", CERT)]
_GO_HEADERS = [("Content-Type", "application/json"),
               ("Amz-Sdk-Invocation-Id", "0b4a1c8a-2f2e-4b7c-9b1e-6a1d2e3f4a5b"),
               ("Amz-Sdk-Request", "attempt=1; max=3")]

CASES = [
    Case("aws-user-guide-example", "AWS4-X509-RSA-SHA256",
         headers=[("Content-Type", "application/json"), *_X509]),
    Case("iam-rolesanywhere-session-ec", "AWS4-X509-ECDSA-SHA256",
         headers=[("Content-Type", "application/x-amz-json-1.0"), *_X509,
                  ("X-Amz-X509-Chain", CHAIN)]),
    Case("iam-rolesanywhere-session-sha384-label", "AWS4-X509-ECDSA-SHA384",
         headers=[("Content-Type", "application/x-amz-json-1.0"), *_X509]),
    Case("go-helper-query-arns", "AWS4-X509-ECDSA-SHA256",
         target="/sessions?" + go_query(profileArn=PROFILE, roleArn=ROLE, trustAnchorArn=TA),
         headers=[*_GO_HEADERS, *_X509, ("X-Amz-X509-Chain", CHAIN)],
         body=b'{"durationSeconds":3600}'),
    Case("go-helper-role-with-plus-and-equals", "AWS4-X509-RSA-SHA256",
         target="/sessions?" + go_query(profileArn=PROFILE,
                                        roleArn=f"arn:aws:iam::{ACCOUNT}:role/a+b=c,d@e",
                                        trustAnchorArn=TA),
         headers=[*_GO_HEADERS, *_X509],
         body=b'{"durationSeconds":900,"roleSessionName":"build-42"}'),
    Case("go-helper-mldsa", "AWS4-X509-MLDSA",
         target="/sessions?" + go_query(profileArn=PROFILE, roleArn=ROLE, trustAnchorArn=TA),
         headers=[*_GO_HEADERS, *_X509], body=b'{"durationSeconds":3600}'),
    Case("iamra-session-name", "AWS4-X509-RSA-SHA256",
         headers=[("Content-Type", "application/json"), *_X509],
         body=BODY[:-1] + b', "sessionName": "legacy"}'),
    Case("curl-mixed-case-header-names", "AWS4-X509-RSA-SHA256",
         headers=[("content-Type", "application/json"), ("X-AMZ-X509", CERT)]),
    Case("header-value-whitespace", "AWS4-X509-ECDSA-SHA256",
         headers=[("Content-Type", "  application/json ;  charset=utf-8  "), *_X509,
                  ("X-Custom", "a\t\tb   c")]),
    Case("envoy-content-sha256", "AWS4-X509-ECDSA-SHA256",
         headers=[("Content-Type", "application/json"), *_X509,
                  ("X-Amz-Content-Sha256", hashlib.sha256(BODY).hexdigest())]),
    Case("empty-body", "AWS4-X509-ECDSA-SHA256",
         target="/sessions?" + go_query(profileArn=PROFILE, roleArn=ROLE, trustAnchorArn=TA),
         headers=[("Content-Type", "application/json"), *_X509], body=b""),
    Case("host-with-port-other-region", "AWS4-X509-ECDSA-SHA256",
         headers=[("Content-Type", "application/json"), *_X509], region="eu-central-1",
         host="127.0.0.1:8443"),
]


class _RecordingSigner(botocore.auth.SigV4Auth):
    """botocore's canonical request; the X.509 string to sign of iam-rolesanywhere-session."""

    creq: str = ""
    sts: str = ""
    algorithm = ""

    def canonical_request(self, request):  # type: ignore[no-untyped-def]
        self.creq = super().canonical_request(request)
        return self.creq

    def string_to_sign(self, request, canonical_request):  # type: ignore[no-untyped-def]
        self.sts = "\n".join([self.algorithm, request.context["timestamp"],
                              self.credential_scope(request),
                              hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
        return self.sts

    def signature(self, string_to_sign, request):  # type: ignore[no-untyped-def]
        return "0" * 64  # never written: signatures are not golden

    def _modify_request_before_signing(self, request):  # type: ignore[no-untyped-def]
        # botocore's, minus the security token; the date header is set the usual way
        self._set_necessary_date_headers(request)


def _request_text(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = f"{method} {target} HTTP/1.1\n" + "".join(f"{n}:{v}\n" for n, v in headers)
    return head.encode() + b"\n" + body


def render(case: Case) -> dict[str, bytes]:
    """The golden files of ``case``, as bytes, keyed by extension."""
    request = AWSRequest(method="POST", url=f"https://{case.host}{case.target}",
                         data=case.body or None)
    request.headers["Host"] = case.host
    for name, value in case.headers:
        request.headers[name] = value
    signer = _RecordingSigner(Credentials("unused", "unused"), "rolesanywhere", case.region)
    signer.algorithm = case.algorithm
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        signer.add_auth(request)
    prepared = urlsplit(request.prepare().url)
    target = prepared.path + (f"?{prepared.query}" if prepared.query else "")
    headers = [(n, v) for n, v in request.headers.items() if n != "Authorization"]
    return {
        ".req": _request_text("POST", target, headers, case.body),
        ".creq": signer.creq.encode(),
        ".sts": signer.sts.encode(),
    }


def main() -> None:
    SUITE.mkdir(exist_ok=True)
    for case in CASES:
        for ext, data in render(case).items():
            (SUITE / f"{case.name}{ext}").write_bytes(data)
    print(f"wrote {len(CASES)} cases to {SUITE}")


if __name__ == "__main__":
    main()
