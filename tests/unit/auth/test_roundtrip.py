"""Requests signed by botocore (clients, SigV4Auth, SigV4QueryAuth) verify; tampered ones don't."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roleport.auth.verifier import Credential, SigningRequest, verify
from roleport.errors import AuthenticationError

from .helpers import SIGNED_AT, frozen, to_signing_request

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars"
NOW = SIGNED_AT.replace(tzinfo=dt.timezone.utc)
ENDPOINT = "http://localhost:8443"
ANCHOR_ID = "4e4c6c8b-6b0f-4a7e-9a54-3c4f1f2b1d9e"
ARN = f"arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/{ANCHOR_ID}"


def lookup(access_key_id: str, session_token: str | None) -> Credential | None:
    return Credential(SECRET_KEY, identity=("user", session_token)) \
        if access_key_id == ACCESS_KEY else None


class _Captured(Exception):
    pass


def client_request(service: str, operation: str, params: dict[str, object],
                   token: str | None = None) -> SigningRequest:
    """Sign a real botocore client call and capture it instead of sending it."""
    session = botocore.session.get_session()
    client = session.create_client(service, region_name="us-east-1", endpoint_url=ENDPOINT,
                                   aws_access_key_id=ACCESS_KEY,
                                   aws_secret_access_key=SECRET_KEY, aws_session_token=token)
    captured: list[AWSPreparedRequest] = []

    def capture(request: AWSPreparedRequest, **_: object) -> None:
        captured.append(request)
        raise _Captured

    client.meta.events.register("before-send", capture)
    with frozen(), pytest.raises(_Captured):
        getattr(client, operation)(**params)
    return to_signing_request(captured[0])


def presigned_url_request(service: str, operation: str, params: dict[str, object],
                          expires: int = 300) -> SigningRequest:
    session = botocore.session.get_session()
    client = session.create_client(service, region_name="us-east-1", endpoint_url=ENDPOINT,
                                   aws_access_key_id=ACCESS_KEY,
                                   aws_secret_access_key=SECRET_KEY)
    with frozen():
        # HttpMethod: botocore otherwise signs the model's method (POST for query services).
        url = client.generate_presigned_url(operation, Params=params, ExpiresIn=expires,
                                            HttpMethod="GET")
    parts = urlsplit(url)
    return SigningRequest("GET", parts.path, parts.query, [("host", parts.netloc)], b"")


CLIENT_CALLS = [
    ("rolesanywhere", "list_tags_for_resource", {"resourceArn": ARN}),
    ("rolesanywhere", "get_trust_anchor", {"trustAnchorId": ANCHOR_ID}),
    ("rolesanywhere", "tag_resource", {"resourceArn": ARN,
                                       "tags": [{"key": "team", "value": "a b/c+d"}]}),
    ("rolesanywhere", "list_trust_anchors", {"pageSize": 10, "nextToken": "a b=c/d+e"}),
    ("iam", "get_role", {"RoleName": "my-role"}),
    ("iam", "create_role", {"RoleName": "r", "AssumeRolePolicyDocument":
                            '{"Version": "2012-10-17", "Statement": []}'}),
    ("sts", "get_caller_identity", {}),
    ("sts", "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/r",
                            "RoleSessionName": "s@x.y"}),
]
CALL_IDS = [f"{s}.{o}" for s, o, _ in CLIENT_CALLS]


@pytest.mark.parametrize(("service", "operation", "params"), CLIENT_CALLS, ids=CALL_IDS)
def test_verify_accepts_botocore_client_requests(service: str, operation: str,
                                                 params: dict[str, object]) -> None:
    request = client_request(service, operation, params)
    result = verify(request, lookup, now=NOW, expected_service=service,
                    expected_region="us-east-1")
    assert (result.service, result.region, result.access_key_id) == (
        service, "us-east-1", ACCESS_KEY)


def test_verify_passes_the_session_token_to_lookup() -> None:
    request = client_request("sts", "get_caller_identity", {}, token=TOKEN)
    result = verify(request, lookup, now=NOW, expected_service="sts")
    assert result.identity == ("user", TOKEN)
    assert result.session_token == TOKEN


@pytest.mark.parametrize(("service", "operation", "params"), [
    ("sts", "get_caller_identity", {}),
    ("iam", "get_role", {"RoleName": "my-role"}),
    ("rolesanywhere", "list_tags_for_resource", {"resourceArn": ARN}),
], ids=["sts", "iam", "rolesanywhere"])
def test_verify_accepts_botocore_presigned_urls(service: str, operation: str,
                                                params: dict[str, object]) -> None:
    request = presigned_url_request(service, operation, params)
    result = verify(request, lookup, now=NOW, expected_service=service)
    assert result.authorization.presigned
    assert result.authorization.expires == 300


# ------------------------------------------------------------------------ tampering


def _rotate(char: str, alphabet: str | None = None) -> str:
    for group in (alphabet,) if alphabet else ("0123456789", "abcdefghijklmnopqrstuvwxyz",
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if char in group:
            return group[(group.index(char) + 1) % len(group)]
    return "!" if char != "!" else "#"


def _tamper(text: str, alphabet: str | None = None) -> Iterator[str]:
    for i, char in enumerate(text):
        yield text[:i] + _rotate(char, alphabet) + text[i + 1:]


def tampered_requests(request: SigningRequest) -> Iterator[tuple[str, SigningRequest]]:
    for method in _tamper(request.method):
        yield "method", SigningRequest(method, request.raw_path, request.raw_query,
                                       request.headers, request.body)
    for path in _tamper(request.raw_path):
        yield "path", SigningRequest(request.method, path, request.raw_query,
                                     request.headers, request.body)
    for query in _tamper(request.raw_query):
        yield "query", SigningRequest(request.method, request.raw_path, query,
                                      request.headers, request.body)
    auth = dict(request.headers).get("authorization", "")
    signed = auth.partition("SignedHeaders=")[2].partition(",")[0].split(";") if auth else ["host"]
    for index, (name, value) in enumerate(request.headers):
        if name == "authorization":
            prefix, _, signature = value.rpartition("Signature=")
            for sig in _tamper(signature, "0123456789abcdef"):
                headers = list(request.headers)
                headers[index] = (name, f"{prefix}Signature={sig}")
                yield "signature", SigningRequest(request.method, request.raw_path,
                                                  request.raw_query, headers, request.body)
        elif name in signed:
            for tampered in _tamper(value):
                headers = list(request.headers)
                headers[index] = (name, tampered)
                yield f"header {name}", SigningRequest(request.method, request.raw_path,
                                                       request.raw_query, headers,
                                                       request.body)
    for i in range(len(request.body)):
        body = bytearray(request.body)
        body[i] = ord(_rotate(chr(body[i])))
        yield "body", SigningRequest(request.method, request.raw_path, request.raw_query,
                                     request.headers, bytes(body))


TAMPER_CASES = {
    "header-form-json-body": lambda: client_request(
        "rolesanywhere", "tag_resource",
        {"resourceArn": ARN, "tags": [{"key": "k", "value": "v"}]}),
    "header-form-arn-query": lambda: client_request(
        "rolesanywhere", "list_tags_for_resource", {"resourceArn": ARN}),
    "header-form-path": lambda: client_request(
        "rolesanywhere", "get_trust_anchor", {"trustAnchorId": "4e4c6c8b-6b0f"}),
    "header-form-query-body": lambda: client_request("iam", "get_role", {"RoleName": "r"}),
    "presigned": lambda: presigned_url_request("sts", "get_caller_identity", {}),
}


@pytest.mark.parametrize("case", sorted(TAMPER_CASES))
def test_every_single_byte_tampering_is_refused(case: str) -> None:
    request = TAMPER_CASES[case]()
    verify(request, lookup, now=NOW, expected_service=None)  # the original is fine
    accepted = []
    count = 0
    for where, tampered in tampered_requests(request):
        count += 1
        try:
            verify(tampered, lookup, now=NOW, expected_service=None)
        except AuthenticationError:
            continue
        accepted.append((where, tampered))
    assert count > 50
    assert accepted == []


def test_unsigned_headers_may_change() -> None:
    request = client_request("sts", "get_caller_identity", {})
    headers = [(n, "changed" if n in ("user-agent", "amz-sdk-invocation-id", "content-length")
                else v) for n, v in request.headers]
    verify(SigningRequest(request.method, request.raw_path, request.raw_query, headers,
                          request.body), lookup, now=NOW, expected_service="sts")


def test_wrong_secret_is_refused() -> None:
    request = client_request("iam", "get_role", {"RoleName": "r"})
    with pytest.raises(AuthenticationError) as info:
        verify(request, lambda key, token: Credential(SECRET_KEY + "x"), now=NOW,
               expected_service="iam")
    assert info.value.kind == "signature"
    assert info.value.message.startswith("The request signature we calculated does not match")
    assert SECRET_KEY not in info.value.message
    assert info.value.canonical_request.startswith("POST\n/\n")  # type: ignore[attr-defined]


def test_unknown_access_key_is_refused() -> None:
    request = client_request("sts", "get_caller_identity", {})
    with pytest.raises(AuthenticationError) as info:
        verify(request, lambda key, token: None, now=NOW, expected_service="sts")
    assert info.value.kind == "unknown-key"
    assert info.value.message == "The security token included in the request is invalid."


# ---------------------------------------------------------------------- clock skew


@pytest.mark.parametrize("minutes", [-4, 4, 0])
def test_skew_within_five_minutes_is_accepted(minutes: int) -> None:
    request = client_request("sts", "get_caller_identity", {})
    verify(request, lookup, now=NOW + dt.timedelta(minutes=minutes), expected_service="sts")


def test_request_six_minutes_old_is_refused_as_expired() -> None:
    request = client_request("sts", "get_caller_identity", {})
    with pytest.raises(AuthenticationError) as info:
        verify(request, lookup, now=NOW + dt.timedelta(minutes=6), expected_service="sts")
    assert info.value.kind == "expired-signature"
    assert info.value.message == ("Signature expired: 20240101T001000Z is now earlier than "
                                  "20240101T001100Z (20240101T001600Z - 5 min.)")


def test_request_six_minutes_ahead_is_refused_as_not_yet_current() -> None:
    request = client_request("sts", "get_caller_identity", {})
    with pytest.raises(AuthenticationError) as info:
        verify(request, lookup, now=NOW - dt.timedelta(minutes=6), expected_service="sts")
    assert info.value.kind == "expired-signature"
    assert info.value.message == ("Signature not yet current: 20240101T001000Z is still later "
                                  "than 20240101T000900Z (20240101T000400Z + 5 min.)")


def test_presigned_url_is_valid_until_x_amz_expires() -> None:
    request = presigned_url_request("sts", "get_caller_identity", {}, expires=900)
    verify(request, lookup, now=NOW + dt.timedelta(minutes=14), expected_service="sts")
    with pytest.raises(AuthenticationError) as info:
        verify(request, lookup, now=NOW + dt.timedelta(minutes=16), expected_service="sts")
    assert info.value.kind == "expired-signature"
    assert "X-Amz-Expires 900" in info.value.message


@pytest.mark.parametrize("minutes", [4, -4])
def test_presigned_skew_within_five_minutes_is_accepted(minutes: int) -> None:
    request = presigned_url_request("sts", "get_caller_identity", {}, expires=300)
    verify(request, lookup, now=NOW + dt.timedelta(minutes=minutes), expected_service="sts")


@pytest.mark.parametrize("minutes", [6, -6])
def test_presigned_skew_beyond_five_minutes_is_refused(minutes: int) -> None:
    request = presigned_url_request("sts", "get_caller_identity", {}, expires=300)
    with pytest.raises(AuthenticationError) as info:
        verify(request, lookup, now=NOW + dt.timedelta(minutes=minutes), expected_service="sts")
    assert info.value.kind == "expired-signature"


# ---------------------------------------------------------------------- properties

_segment = st.tuples(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
    .filter(lambda s: "/" not in s),
    st.sampled_from(["", "!$&'()*+,;=:@", "-._~", ":@"]),
)
_paths = st.lists(_segment, max_size=4).map(
    lambda segs: "/" + "/".join(quote(text, safe=safe) for text, safe in segs))
_params = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    max_size=6)
_services = st.sampled_from(["rolesanywhere", "iam", "sts"])
_settings = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _botocore_signed(path: str, *, params: dict[str, str] | None = None, query: str = "",
                     service: str = "sts", presign: bool = False) -> SigningRequest:
    url = f"{ENDPOINT}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="GET", url=url, params=params or {})
    creds = Credentials(ACCESS_KEY, SECRET_KEY)
    signer = (botocore.auth.SigV4QueryAuth(creds, service, "us-east-1", expires=60) if presign
              else botocore.auth.SigV4Auth(creds, service, "us-east-1"))
    with frozen():
        signer.add_auth(request)
    return to_signing_request(request)


@_settings
@given(path=_paths, params=_params, service=_services)
def test_botocore_signed_params_and_paths_always_verify(path: str, params: dict[str, str],
                                                        service: str) -> None:
    request = _botocore_signed(path, params=params, service=service)
    verify(request, lookup, now=NOW, expected_service=service)


@_settings
@given(path=_paths, params=_params, service=_services)
def test_botocore_signed_serialized_queries_always_verify(path: str, params: dict[str, str],
                                                          service: str) -> None:
    request = _botocore_signed(path, query=percent_encode_sequence(params), service=service)
    verify(request, lookup, now=NOW, expected_service=service)


@_settings
@given(path=_paths, params=_params, service=_services)
def test_botocore_presigned_urls_always_verify(path: str, params: dict[str, str],
                                              service: str) -> None:
    request = _botocore_signed(path, params=params, service=service, presign=True)
    verify(request, lookup, now=NOW, expected_service=service)


_header_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1,
                        max_size=10).map(lambda s: "x-" + s)
#: header values as clients send them: printable ASCII with runs of spaces inside
_header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20) \
    .map(str.strip)


@_settings
@given(path=_paths, params=_params, headers=st.dictionaries(_header_names, _header_values,
                                                            max_size=5),
       body=st.binary(max_size=64), service=_services)
def test_our_canonical_request_is_botocores_for_any_headers_and_body(
        path: str, params: dict[str, str], headers: dict[str, str], body: bytes,
        service: str) -> None:
    """Canonicalisation itself, step by step, against botocore's: header values trimmed
    with inner runs of spaces folded, names sorted, any body hashed; and the request
    verifies."""
    from roleport.auth.sigv4 import canonical_request, payload_hash

    url = f"{ENDPOINT}{path}"
    request = AWSRequest(method="POST", url=url, params=params, headers=headers, data=body)
    signer = botocore.auth.SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, "us-east-1")
    seen: list[str] = []
    botocores = signer.canonical_request
    signer.canonical_request = lambda r: seen.append(botocores(r)) or seen[-1]  # type: ignore
    with frozen():
        signer.add_auth(request)
    received = to_signing_request(request)
    authorization = received.header_values("authorization")[0]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    ours = canonical_request(received.method, received.raw_path, received.raw_query,
                             received.headers, signed, payload_hash(received.body))
    assert ours == seen[0]
    verify(received, lookup, now=NOW, expected_service=service)
