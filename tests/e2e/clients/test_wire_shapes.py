"""CreateSession requests shaped byte for byte as the real clients send them (clients.md
§1.4, §3, §4), built with our own signer, against a real server over HTTPS. Each one
gets credentials that then pass STS GetCallerIdentity on Roleport; each leniency it
needs is counted in the metrics."""

from __future__ import annotations

import json

import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .support import Setup, metrics_text, post_session, sts_identity

GO_SDK_HEADERS = [("amz-sdk-invocation-id", "0b4a1c8a-2f2e-4b7c-9b1e-6a1d2e3f4a5b"),
                  ("amz-sdk-request", "attempt=1; max=3"),
                  ("user-agent", "CredHelper/1.8.0 (go1.24.13; linux; amd64)"),
                  ("accept-encoding", "gzip")]


@pytest.fixture()
def setup(server: RoleportServer, pki) -> Setup:
    return Setup(server, server.new_account(), [pki.root, pki.rsa_root])


def issued(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()["credentialSet"][0]["credentials"]


def test_go_helper_v1_5_arns_in_query_sdk_headers_signed(setup: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.intermediate, "go-client")
    response = post_session(setup.server, leaf, query=setup.arns,
                            body=b'{"durationSeconds":3600}', headers=GO_SDK_HEADERS)
    assert sts_identity(setup.server, issued(response))["Account"] == setup.account.account_id


def test_go_helper_v1_chunked_body(setup: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.rsa_root, "go-v1", key_type="rsa")
    response = post_session(setup.server, leaf, query=setup.arns, chunked=True,
                            body=b'{"durationSeconds":3600}',
                            signed_headers=["content-type", "host", "x-amz-date",
                                            "x-amz-x509"])
    issued(response)
    assert "chunked" not in metrics_text(setup.server)  # HTTP framing, not a leniency


def test_iamra_rsa_pss_and_deprecated_session_name(setup: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.rsa_root, "iamra", key_type="rsa")
    body = {"durationSeconds": 900, **setup.arns, "sessionName": "ignored"}
    response = post_session(setup.server, leaf, body=body,
                            sign=lambda d: leaf.key.sign_as(d, rsa_pss=True),
                            signed_headers=["content-type", "host", "x-amz-date", "x-amz-x509"])
    sts_identity(setup.server, issued(response))
    assert 'roleport_signing_leniency_total{leniency="rsa-pss"}' in metrics_text(setup.server)


def test_node_client_signs_no_content_type(setup: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.root, "node")
    issued(post_session(setup.server, leaf, body=setup.arns,
                        signed_headers=["host", "x-amz-date", "x-amz-x509"]))


def test_envoy_content_sha256_and_float_duration(setup: Setup, pki) -> None:
    import hashlib

    leaf = devpki.issue_leaf(pki.root, "envoy")
    payload = json.dumps({**setup.arns, "durationSeconds": 3600.0}).encode()
    issued(post_session(setup.server, leaf, body=payload, headers=[
        ("x-amz-content-sha256", hashlib.sha256(payload).hexdigest())]))


def test_needroleshere_nulls_are_absent(setup: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.root, "rust")
    payload = json.dumps({**setup.arns, "durationSeconds": None, "sessionName": None}).encode()
    issued(post_session(setup.server, leaf, body=payload))


def test_curl_script_mixed_case_header_names(setup: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.root, "curl")
    payload = json.dumps(setup.arns).encode()
    # names go on the wire in mixed case and are signed lower-cased; inner runs of
    # spaces in a value are collapsed in the canonical form
    issued(post_session(setup.server, leaf, body=payload,
                        headers=[("X-Custom-Trace", "spaced   value")]))


def test_java_plugin_host_without_port_is_what_was_signed(setup: Setup, pki) -> None:
    # clients sign the Host they send; the server never insists on its own name
    leaf = devpki.issue_leaf(pki.root, "java")
    body = {**setup.arns, "roleSessionName": None}
    issued(post_session(setup.server, leaf, body=body))


def test_mldsa_leaf(setup: Setup, server: RoleportServer) -> None:
    from roleport.crypto.keys import mldsa_available

    if not mldsa_available():
        pytest.skip("this cryptography has no ML-DSA")
    root = devpki.create_root_ca("PQ Root", key_type="mldsa")
    pq = Setup(server, server.new_account(), [root])
    leaf = devpki.issue_leaf(root, "pq-workload", key_type="mldsa")
    sts_identity(server, issued(post_session(server, leaf, body=pq.arns)))
