"""``serve``'s endpoint, protocol details: IMDSv2 tokens (TTL, hop limit, X-Forwarded-For),
the ECS container-credentials route, headers, and errors instead of empty credentials."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from roleport.client.cache import RefreshingCredentials
from roleport.client.credentials import SessionCredentials, format_time
from roleport.client.errors import OutputError, ServiceError
from roleport.client.imds import CredentialServer, ServeOptions

TOKEN = "ecs-secret-token"


class Source:
    def __init__(self) -> None:
        self.error: Exception | None = None

    def __call__(self) -> SessionCredentials:
        if self.error:
            raise self.error
        return SessionCredentials("ASIAIMDS", "secret", "token",
                                  format_time(datetime.now(UTC) + timedelta(hours=1)),
                                  role_arn="arn:aws:iam::111122223333:role/path/app")


def start(source: Source, **options: object) -> CredentialServer:
    cache = RefreshingCredentials(source)
    cache.refresh()
    opts = ServeOptions(port=0, role_name="app", ecs_token=TOKEN, **options)  # type: ignore[arg-type]
    server = CredentialServer(cache, opts).start()
    server.start_background()
    return server


@pytest.fixture()
def source() -> Source:
    return Source()


@pytest.fixture()
def served(source: Source) -> Iterator[CredentialServer]:
    server = start(source)
    yield server
    server.shutdown()


def call(server: CredentialServer, method: str, path: str,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(server.base_url + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def token(server: CredentialServer, ttl: str = "300") -> str:
    status, headers, body = call(server, "PUT", "/latest/api/token",
                                 {"x-aws-ec2-metadata-token-ttl-seconds": ttl})
    assert status == 200 and headers["x-aws-ec2-metadata-token-ttl-seconds"] == ttl
    return body


def test_imdsv2_flow_returns_role_and_credentials_with_headers(served) -> None:
    session = {"x-aws-ec2-metadata-token": token(served)}
    status, headers, body = call(served, "GET", "/latest/meta-data/iam/security-credentials/",
                                 session)
    assert (status, body) == (200, "app")
    assert 0 < int(headers["x-aws-ec2-metadata-token-ttl-seconds"]) <= 300
    status, headers, body = call(served, "GET", "/latest/meta-data/iam/security-credentials/app",
                                 session)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert "x-aws-ec2-metadata-token-ttl-seconds" in headers  # the Go helper never sends it
    doc = json.loads(body)
    assert doc["Code"] == "Success" and doc["Type"] == "AWS-HMAC"
    assert (doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"]) == ("ASIAIMDS", "secret",
                                                                         "token")
    assert call(served, "GET", "/latest/meta-data/iam/security-credentials/app/",
                session)[0] == 200
    assert call(served, "GET", "/latest/meta-data/iam/security-credentials/other",
                session)[0] == 404


def test_token_rules(served) -> None:
    path = "/latest/meta-data/iam/security-credentials/app"
    assert call(served, "GET", path)[0] == 401
    assert call(served, "GET", path, {"x-aws-ec2-metadata-token": "forged"})[0] == 401
    assert call(served, "PUT", "/latest/api/token")[0] == 400  # TTL header required
    for bad in ("0", "21601", "x"):
        assert call(served, "PUT", "/latest/api/token",
                    {"x-aws-ec2-metadata-token-ttl-seconds": bad})[0] == 400
    assert call(served, "PUT", "/latest/api/token", {
        "x-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "1.2.3.4"})[0] == 400
    assert call(served, "GET", "/latest/api/token")[0] == 405
    assert token(served, "21600")


def test_imdsv1_only_when_allowed(source) -> None:
    server = start(source, allow_imdsv1=True)
    try:
        status, _, body = call(server, "GET", "/latest/meta-data/iam/security-credentials/app")
        assert status == 200 and json.loads(body)["AccessKeyId"] == "ASIAIMDS"
    finally:
        server.shutdown()


def test_ecs_route_needs_the_token(served) -> None:
    assert call(served, "GET", "/v1/credentials")[0] == 401
    assert call(served, "GET", "/v1/credentials", {"Authorization": "wrong"})[0] == 403
    status, headers, body = call(served, "GET", "/v1/credentials", {"Authorization": TOKEN})
    assert status == 200 and headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["AccessKeyId"] == "ASIAIMDS" and doc["Token"] == "token"
    assert doc["RoleArn"] == "arn:aws:iam::111122223333:role/path/app"


def test_ecs_route_is_absent_without_a_token(source) -> None:
    cache = RefreshingCredentials(source)
    server = CredentialServer(cache, ServeOptions(port=0)).start()
    server.start_background()
    try:
        assert call(server, "GET", "/v1/credentials", {"Authorization": "x"})[0] == 404
    finally:
        server.shutdown()


def test_no_credentials_gives_errors_never_empty_strings(source) -> None:
    source.error = ServiceError("CreateSession refused (HTTP 403): profile disabled")
    server = start(source)
    try:
        session = {"x-aws-ec2-metadata-token": token(server)}
        status, _, body = call(server, "GET", "/latest/meta-data/iam/security-credentials/app",
                               session)
        doc = json.loads(body)
        assert status == 200 and doc["Code"] == "CredentialsUnavailableError"
        assert "profile disabled" in doc["Message"] and "AccessKeyId" not in doc
        status, _, body = call(server, "GET", "/v1/credentials", {"Authorization": TOKEN})
        assert status == 503 and "profile disabled" in json.loads(body)["message"]
    finally:
        server.shutdown()


def test_botocore_reads_both_endpoints_unchanged(served) -> None:
    from botocore.utils import ContainerMetadataFetcher, InstanceMetadataFetcher

    imds = InstanceMetadataFetcher(timeout=2, num_attempts=1,
                                   config={"ec2_metadata_service_endpoint": served.base_url})
    creds = imds.retrieve_iam_role_credentials()
    assert (creds["role_name"], creds["access_key"], creds["token"]) == ("app", "ASIAIMDS",
                                                                         "token")
    ecs = ContainerMetadataFetcher().retrieve_full_uri(served.base_url + "/v1/credentials",
                                                       headers={"Authorization": TOKEN})
    assert ecs["AccessKeyId"] == "ASIAIMDS"


def test_ipv6_listener_and_hop_limit(source) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = start(source, host="::1", hop_limit=1)
    except OutputError:
        pytest.skip("::1 is not configured")
    try:
        assert server.base_url.startswith("http://[::1]:")
        assert call(server, "PUT", "/latest/api/token",
                    {"x-aws-ec2-metadata-token-ttl-seconds": "5"})[0] == 200
    finally:
        server.shutdown()


def test_port_in_use_is_an_output_error(served, source) -> None:
    cache = RefreshingCredentials(source)
    with pytest.raises(OutputError, match=f"cannot listen on 127.0.0.1 port {served.port}"):
        CredentialServer(cache, ServeOptions(port=served.port)).start()
