"""Write the golden SigV4 files in ``aws4_testsuite/`` with botocore's own signer.

Run from the repository root to regenerate after a botocore upgrade::

    PYTHONPATH=src python tests/unit/auth/make_golden.py

Per case, in the format of botocore's ``tests/unit/auth/aws4_testsuite``:

* ``.req``   the request as it goes on the wire, without ``Authorization``
* ``.creq``  botocore's canonical request
* ``.sts``   botocore's string to sign
* ``.authz`` the ``Authorization`` header value
* ``.sreq``  the ``.req`` with ``Authorization`` added

The signing date and key are fixed (AWS's published example key), so the output is
deterministic. ``test_golden.py`` checks that our functions reproduce every file and that
this script still produces exactly the committed files.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE = Path(__file__).parent / "aws4_testsuite"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = ("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuF"
                 "qwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI")
SIGNED_AT = datetime.datetime(2015, 8, 30, 12, 36, 0)
HOST = "example.amazonaws.com"
ARN = ("arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/"
       "4e4c6c8b-6b0f-4a7e-9a54-3c4f1f2b1d9e")
ARN_ENCODED = ARN.replace(":", "%3A").replace("/", "%2F")


@dataclass
class Case:
    name: str
    method: str
    target: str                     # path[?query] exactly as on the wire
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    params: list[tuple[str, str]] | None = None  # botocore request.params (encoded by botocore)
    service: str = "service"
    region: str = "us-east-1"
    token: str | None = None
    host: str = HOST


CASES = [
    Case("get-vanilla", "GET", "/"),
    Case("get-vanilla-empty-query-key", "GET", "/?Param1=value1"),
    Case("get-vanilla-query-order-key", "GET", "/?Param2=value2&Param1=value1"),
    Case("get-vanilla-query-order-key-case", "GET", "/?param1=value1&Param2=value2&Param1=value0"),
    Case("get-vanilla-query-order-value", "GET", "/?Param1=value2&Param1=Value1"),
    Case("get-vanilla-query-unreserved", "GET",
         "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    Case("get-vanilla-query-reserved-encoded", "GET",
         "/?reserved=%21%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D&space=a%20b"),
    Case("get-vanilla-query-utf8", "GET", "/?%E1%88%B4=bar&%C3%A9t%C3%A9=%E2%82%AC"),
    Case("get-vanilla-query-empty-values", "GET", "/?b&a=&c=3"),
    Case("get-query-params-encoded-by-botocore", "GET", "/", params=[
        ("space key", "a b"), ("slash", "a/b"), ("tilde", "~x"), ("utf8", "\u00e9\u20ac"),
        ("empty", ""), ("plus", "1+1"), ("equals", "a=b"), ("star", "*!'()"),
    ]),
    Case("get-query-duplicate-keys-by-botocore", "GET", "/", params=[
        ("key", "b"), ("key", "a"), ("Key", "c"), ("key", "a b"),
    ]),
    Case("get-space", "GET", "/example%20space/"),
    Case("get-utf8-encoded", "GET", "/%E1%88%B4"),
    Case("get-utf8-raw", "GET", "/\u1234/caf\u00e9"),
    Case("get-reserved-in-path", "GET", "/a:b@c!$&'()*+,;=/d"),
    Case("get-relative", "GET", "/example/.."),
    Case("get-relative-relative", "GET", "/example1/example2/../.."),
    Case("get-slash-dot-slash", "GET", "/./"),
    Case("get-slash-pointless-dot", "GET", "/./example"),
    Case("get-slashes", "GET", "//example//"),
    Case("get-dot-segments-mixed", "GET", "/a/./b/../c//d/"),
    Case("get-header-value-trim", "GET", "/", headers=[
        ("My-Header1", "   value1   "), ("My-Header2", '"a   b   c"'),
        ("My-Header3", "\tx \t y\t"),
    ]),
    Case("get-header-key-duplicate", "GET", "/", headers=[
        ("My-Header1", "value2"), ("My-Header1", "value2"), ("my-header1", "value1"),
    ]),
    Case("get-header-value-order", "GET", "/", headers=[
        ("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"),
        ("My-Header1", "value2"),
    ]),
    Case("get-header-unsigned", "GET", "/", headers=[
        ("User-Agent", "aws-cli/2.0"), ("X-Amzn-Trace-Id", "Root=1-abc"),
        ("Connection", "keep-alive"), ("X-Amz-User-Agent", "signed/1.0"),
    ]),
    Case("get-header-date", "GET", "/", headers=[("Date", "Sun, 30 Aug 2015 12:36:00 GMT")]),
    Case("get-host-with-port", "GET", "/", host="localhost:8443"),
    Case("post-vanilla", "POST", "/"),
    Case("post-vanilla-query", "POST", "/?Param1=value1"),
    Case("post-x-www-form-urlencoded", "POST", "/", headers=[
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
    ], body=b"Action=GetCallerIdentity&Version=2011-06-15", service="sts"),
    Case("post-iam-with-session-token", "POST", "/", headers=[
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
    ], body=b"Action=GetRole&RoleName=my-role&Version=2010-05-08", service="iam",
        token=SESSION_TOKEN),
    Case("post-json-body", "POST", "/trustanchors", headers=[
        ("Content-Type", "application/json"),
    ], body=b'{"enabled": true, "name": "anchor", "source": {"sourceType": "CERTIFICATE_BUNDLE"}}',
        service="rolesanywhere"),
    Case("post-json-body-utf8", "POST", "/profiles", headers=[
        ("Content-Type", "application/json"),
    ], body='{"name": "caf\u00e9 \u20ac"}'.encode(), service="rolesanywhere", region="eu-west-3"),
    Case("get-arn-in-path", "GET", f"/trustanchor/{ARN_ENCODED}", service="rolesanywhere"),
    Case("get-arn-in-query", "GET", f"/ListTagsForResource?resourceArn={ARN_ENCODED}",
         service="rolesanywhere"),
    Case("post-arn-in-path-and-query", "POST",
         f"/sessions/{ARN_ENCODED}?profileArn={ARN_ENCODED}&durationSeconds=3600",
         headers=[("Content-Type", "application/json")], body=b"{}",
         service="rolesanywhere"),
]


class _RecordingSigner(botocore.auth.SigV4Auth):
    """botocore's signer, keeping what it computed on the way."""

    creq: str = ""
    sts: str = ""

    def canonical_request(self, request):  # type: ignore[no-untyped-def]
        self.creq = super().canonical_request(request)
        return self.creq

    def string_to_sign(self, request, canonical_request):  # type: ignore[no-untyped-def]
        self.sts = super().string_to_sign(request, canonical_request)
        return self.sts


def _request_text(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = f"{method} {target} HTTP/1.1\n" + "".join(f"{n}:{v}\n" for n, v in headers)
    return head.encode() + b"\n" + body


def render(case: Case) -> dict[str, bytes]:
    """The five golden files of ``case``, as bytes, keyed by extension."""
    url = f"https://{case.host}{case.target}"
    request = AWSRequest(method=case.method, url=url, data=case.body or None,
                         params=list(case.params) if case.params else None)
    request.headers["Host"] = case.host
    for name, value in case.headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    signer = _RecordingSigner(Credentials(ACCESS_KEY, SECRET_KEY, case.token),
                              case.service, case.region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        signer.add_auth(request)
    prepared_url = urlsplit(request.prepare().url)
    target = prepared_url.path + (f"?{prepared_url.query}" if prepared_url.query else "")
    authz = request.headers["Authorization"]
    headers = [(n, v) for n, v in request.headers.items() if n != "Authorization"]
    return {
        ".req": _request_text(case.method, target, headers, case.body),
        ".creq": signer.creq.encode(),
        ".sts": signer.sts.encode(),
        ".authz": authz.encode(),
        ".sreq": _request_text(case.method, target, [*headers, ("Authorization", authz)],
                               case.body),
    }


def main() -> None:
    SUITE.mkdir(exist_ok=True)
    for case in CASES:
        for ext, data in render(case).items():
            (SUITE / f"{case.name}{ext}").write_bytes(data)
    print(f"wrote {len(CASES)} cases to {SUITE}")


if __name__ == "__main__":
    main()
