"""Turning botocore's signed requests into what our server receives."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest

from roleport.auth.verifier import SigningRequest

#: botocore signs with a naive UTC datetime.
SIGNED_AT = dt.datetime(2024, 1, 1, 0, 10, 0)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def to_signing_request(request: AWSPreparedRequest | AWSRequest) -> SigningRequest:
    """What our server would receive for a request botocore prepared and signed."""
    prepared = request.prepare() if isinstance(request, AWSRequest) else request
    url = urlsplit(prepared.url)
    headers = [(name.lower(), _text(value)) for name, value in prepared.headers.items()]
    if not any(name == "host" for name, _ in headers):
        # urllib3 adds Host on the wire; botocore signed the same value.
        headers.insert(0, ("host", botocore.auth._host_from_url(prepared.url)))
    body = prepared.body or b""
    return SigningRequest(prepared.method, url.path, url.query, headers,
                          body.encode() if isinstance(body, str) else body)


def frozen(at: dt.datetime = SIGNED_AT) -> mock._patch:  # type: ignore[type-arg]
    """Make botocore sign at ``at``."""
    return mock.patch("botocore.auth.get_current_datetime", return_value=at)
