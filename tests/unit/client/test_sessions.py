"""The CreateSession client against a small scripted server that checks each request's
X.509 signature with the server's own verifier: wire shape, retries, errors, skew."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import read_x509_request
from roleport.client.errors import ConfigurationError, EndpointError, ServiceError
from roleport.client.sessions import SessionClient, SessionRequest, resolve_endpoint
from roleport.client.signers import FileSigner

TA = "arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/ta"
PROFILE = "arn:aws:rolesanywhere:eu-west-1:111122223333:profile/p"
ROLE = "arn:aws:iam::111122223333:role/r"
OK_BODY = {"credentialSet": [{"assumedRoleUser": {"arn": "a", "assumedRoleId": "b"},
                              "credentials": {"accessKeyId": "ASIAOK", "secretAccessKey": "SECRET",
                                              "sessionToken": "TOKEN",
                                              "expiration": "2030-01-01T00:00:00Z"},
                              "packedPolicySize": 0, "roleArn": ROLE,
                              "sourceIdentity": "CN=alice"}],
           "subjectArn": "arn:aws:rolesanywhere:eu-west-1:111122223333:subject/s"}


class Handler(BaseHTTPRequestHandler):
    script: ClassVar[list[tuple[int, dict[str, str], Any]]] = []
    seen: ClassVar[list[dict[str, Any]]] = []
    server_now: ClassVar[datetime | None] = None

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        raw_path, _, raw_query = self.path.partition("?")
        request = SigningRequest("POST", raw_path, raw_query,
                                 [(k.lower(), v) for k, v in self.headers.items()], body)
        presented = read_x509_request(request, lenient=False)
        now = self.server_now or datetime.now(UTC)
        try:
            presented.verify(now=now)
            verified = None
        except Exception as exc:  # noqa: BLE001
            verified = str(exc)
        self.seen.append({"path": self.path, "headers": dict(self.headers.items()),
                          "body": json.loads(body), "verified": verified,
                          "chain": len(presented.chain)})
        status, headers, payload = self.script.pop(0) if self.script else (201, {}, OK_BODY)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    Handler.script, Handler.seen, Handler.server_now = [], [], None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/prefix"
    httpd.shutdown()
    httpd.server_close()


def client(files, url: str, **kw: Any) -> SessionClient:  # noqa: ANN001
    signer = FileSigner(files.path("alice.pem"), files.path("alice.key"),
                        files.path("alice-chain.pem"))
    endpoint = resolve_endpoint(endpoint=url, trust_anchor_arn=TA, profile_arn=PROFILE,
                                environ={})
    return SessionClient(signer=signer, endpoint=endpoint, sleep=lambda s: None,
                         request=SessionRequest(TA, PROFILE, ROLE, **kw))


def test_request_is_signed_as_every_server_accepts_and_credentials_are_read(files,
                                                                             server) -> None:
    creds = client(files, server, duration_seconds=900).create_session()
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == \
        ("ASIAOK", "SECRET", "TOKEN")
    assert creds.expiration == "2030-01-01T00:00:00Z"
    [seen] = Handler.seen
    assert seen["verified"] is None  # strict verification passed
    assert seen["path"] == "/prefix/sessions"
    assert seen["body"] == {"durationSeconds": 900, "profileArn": PROFILE, "roleArn": ROLE,
                            "trustAnchorArn": TA}
    auth = seen["headers"]["authorization"]
    assert auth.startswith("AWS4-X509-ECDSA-SHA256 Credential=" + files.leaf.certificate
                           .serial_decimal + "/")
    assert "/eu-west-1/rolesanywhere/aws4_request" in auth
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain," in auth
    assert seen["chain"] == 1  # the intermediate only: no root, no leaf
    assert seen["headers"]["content-type"] == "application/json"


def test_server_errors_are_retried_then_reported(files, server) -> None:
    Handler.script = [(503, {"x-amzn-ErrorType": "ServiceUnavailableException"},
                       {"message": "busy"})] * 3
    with pytest.raises(EndpointError, match="busy .*gave up after 3 attempts") as caught:
        client(files, server).create_session()
    assert caught.value.exit_code == 5 and len(Handler.seen) == 3
    # every attempt is signed afresh and verifies
    assert all(seen["verified"] is None for seen in Handler.seen)


def test_throttling_is_retried_and_can_succeed(files, server) -> None:
    Handler.script = [(429, {"x-amzn-ErrorType": "ThrottlingException"}, {"message": "slow"})]
    assert client(files, server).create_session().access_key_id == "ASIAOK"
    assert len(Handler.seen) == 2


def test_refusal_carries_the_servers_code_message_and_request_id(files, server) -> None:
    Handler.script = [(403, {"x-amzn-ErrorType": "AccessDeniedException:http://x",
                             "x-amzn-RequestId": "req-1"},
                       {"message": "Untrusted signing certificate"})]
    with pytest.raises(ServiceError) as caught:
        client(files, server).create_session()
    error = caught.value
    assert (error.code, error.status, error.request_id) == ("AccessDeniedException", 403,
                                                            "req-1")
    assert error.message == ("CreateSession refused (HTTP 403 AccessDeniedException, request id "
                             "req-1): Untrusted signing certificate")
    assert error.exit_code == 4 and len(Handler.seen) == 1


def test_clock_skew_is_corrected_with_the_servers_date(files, server) -> None:
    ahead = datetime.now(UTC) + timedelta(hours=2)
    Handler.server_now = ahead
    Handler.script = [(403, {"x-amzn-ErrorType": "AccessDeniedException",
                             "Date": format_datetime(ahead, usegmt=True)},
                       {"message": "Invalid signature: the request time is more than 5 "
                                   "minutes away from the server's"})]
    assert client(files, server).create_session().access_key_id == "ASIAOK"
    assert [s["verified"] is None for s in Handler.seen] == [False, True]


def test_success_without_credentials_is_an_error_not_empty_output(files, server) -> None:
    Handler.script = [(201, {}, {"credentialSet": []})]
    with pytest.raises(EndpointError, match="unable to obtain temporary security credentials"):
        client(files, server).create_session()


def test_unreachable_endpoint(files) -> None:
    with pytest.raises(EndpointError, match="cannot reach http://127.0.0.1:9: Connection refused"):
        client(files, "http://127.0.0.1:9/").create_session()


def test_debug_shows_the_canonical_request_and_redacts_secrets(files, server) -> None:
    lines: list[str] = []
    c = client(files, server)
    c.debug = lines.append
    c.create_session()
    text = "\n".join(lines)
    assert "---[ CANONICAL REQUEST ]---\nPOST\n/prefix/sessions\n" in text
    assert "---[ STRING TO SIGN ]---\nAWS4-X509-ECDSA-SHA256\n" in text
    assert "SECRET" not in text and "TOKEN" not in text
    assert '"secretAccessKey":"<redacted>"' in text.replace(" ", "")


def test_endpoint_resolution_follows_the_aws_tools() -> None:
    env = {"AWS_ENDPOINT_URL_ROLESANYWHERE": "https://ra.internal:8443",
           "AWS_ENDPOINT_URL": "https://all.internal"}
    assert resolve_endpoint(trust_anchor_arn=TA, environ=env).url == "https://ra.internal:8443"
    assert resolve_endpoint(trust_anchor_arn=TA, environ={"AWS_ENDPOINT_URL": "http://x:1"}
                            ).url == "http://x:1"
    # unlike the Go helper, an explicit --endpoint wins over the environment
    assert resolve_endpoint(endpoint="https://flag", trust_anchor_arn=TA, environ=env
                            ).url == "https://flag"
    ignored = {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    resolved = resolve_endpoint(trust_anchor_arn=TA, environ=ignored)
    assert (resolved.url, resolved.region) == ("https://rolesanywhere.eu-west-1.amazonaws.com",
                                               "eu-west-1")
    assert resolve_endpoint(trust_anchor_arn=TA, environ={"AWS_USE_FIPS_ENDPOINT": "true"}
                            ).url == "https://rolesanywhere-fips.eu-west-1.amazonaws.com"
    assert resolve_endpoint(trust_anchor_arn=TA, region="us-west-2", environ={}
                            ).region == "us-west-2"
    assert resolve_endpoint(trust_anchor_arn=TA, no_verify_ssl=True, environ={}
                            ).verify is False


def test_ca_bundle_from_flag_or_aws_ca_bundle(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    assert resolve_endpoint(trust_anchor_arn=TA, environ={"AWS_CA_BUNDLE": str(bundle)}
                            ).verify == str(bundle)
    with pytest.raises(ConfigurationError, match="CA bundle .* does not exist"):
        resolve_endpoint(trust_anchor_arn=TA, ca_bundle=str(tmp_path / "no.pem"), environ={})


def test_bad_arguments_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="regions don't match"):
        resolve_endpoint(trust_anchor_arn=TA, environ={},
                         profile_arn=PROFILE.replace("eu-west-1", "us-east-1"))
    with pytest.raises(ConfigurationError, match="--trust-anchor-arn 'nope' is not an ARN"):
        SessionRequest("nope", PROFILE, ROLE)
    with pytest.raises(ConfigurationError, match="--role-arn .* does not name a role"):
        SessionRequest(TA, PROFILE, "arn:aws:iam::111122223333:user/u")
    with pytest.raises(ConfigurationError, match="between 900 and 43200"):
        SessionRequest(TA, PROFILE, ROLE, duration_seconds=60)
    with pytest.raises(ConfigurationError, match="--role-session-name"):
        SessionRequest(TA, PROFILE, ROLE, role_session_name="a b")
