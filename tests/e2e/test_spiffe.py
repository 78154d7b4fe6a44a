"""SPIFFE through a real server: trust anchors tagged roleport:spiffeTrustDomain follow a
trust bundle served by a loopback bundle endpoint (https_web, its own TLS CA) or read from
a file; X.509-SVIDs made by the tests get credentials through iam-rolesanywhere-session,
with SPIFFE principal tags a trust policy can test; the bundle rotates (on demand, on its
refresh hint), a stale bundle fails closed, and plain AWS clients see the anchor's data
follow the bundle."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import Setup, audit_reason, error_of, post_session, trust_policy
from .spiffe_support import bundle, bundle_endpoint, spire_ca, svid

iam_ra = pytest.importorskip("iam_rolesanywhere_session")

TD = "example.org"
UNTRUSTED = "Untrusted signing certificate"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("spiffe")
    with bundle_endpoint(directory) as endpoint:
        file_bundle = directory / "file-bundle.json"
        cas = {"ca1": spire_ca(TD, "SPIRE CA 1"), "ca2": spire_ca(TD, "SPIRE CA 2"),
               "file": spire_ca("file.example")}
        endpoint.bundles["/example.org"] = bundle(cas["ca1"])
        file_bundle.write_bytes(bundle(cas["file"]))
        args = ["--spiffe-bundle", f"{TD}={endpoint.base}/example.org",
                "--spiffe-bundle", f"file.example={file_bundle}",
                "--spiffe-bundle-ca", str(endpoint.ca_file), "--spiffe-max-staleness", "60"]
        with RoleportServer(directory / "server", extra_args=args) as server:
            yield {"server": server, "endpoint": endpoint, "cas": cas, "dir": directory}


def _anchor(server: RoleportServer, trust_domain: str, placeholder, **profile) -> Setup:
    """A plain CERTIFICATE_BUNDLE anchor (any CA as its first data) tagged to follow the
    trust domain's bundle."""
    setup = Setup(server, server.new_account(), [placeholder])
    setup.ra.tag_resource(resourceArn=setup.trust_anchor["trustAnchorArn"],
                          tags=[{"key": "roleport:spiffeTrustDomain", "value": trust_domain}])
    return setup


def _session(setup: Setup, leaf: devpki.IssuedCertificate, directory: Path) -> Any:
    files = devpki.save(leaf, directory, f"svid-{leaf.certificate.serial_hex[:8]}")
    server = setup.server
    return iam_ra.IAMRolesAnywhereSession(
        profile_arn=setup.arns["profileArn"], role_arn=setup.arns["roleArn"],
        trust_anchor_arn=setup.arns["trustAnchorArn"], certificate=str(files.certificate),
        private_key=str(files.key), region=server.region,
        endpoint=server.endpoint.removeprefix("https://"),
        verify=str(server.ca_bundle)).get_session()


def _reason(setup: Setup, subject: str) -> str:
    out = subprocess.run([sys.executable, "-m", "roleport.cli.main", "subjects", "show",
                          "--data-dir", str(setup.server.data_dir), "--account-id",
                          setup.account.account_id, subject],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["attempts"][0]["failureReason"]


def test_svid_gets_credentials_with_spiffe_tags_in_the_trust_policy(world, pki) -> None:
    server, ca1 = world["server"], world["cas"]["ca1"]
    setup = _anchor(server, TD, pki.root)
    condition = {"StringEquals": {
        "aws:PrincipalTag/x509SAN/URI": "spiffe://example.org/ns/prod/sa/web",
        "aws:PrincipalTag/x509SAN/spiffe/trustDomain": TD},
        "StringLike": {"aws:PrincipalTag/x509SAN/spiffe/path": "/ns/prod/*"}}
    setup.role_arn = setup.role("spiffe-web", policy=trust_policy(condition=condition))
    setup.profile = setup.new_profile(roleArns=[setup.role_arn])
    setup.ra.put_attribute_mapping(
        profileId=setup.profile["profileId"], certificateField="x509SAN",
        mappingRules=[{"specifier": s} for s in ("URI", "spiffe/trustDomain", "spiffe/path")])

    web = svid(ca1, "spiffe://example.org/ns/prod/sa/web")
    sts = _session(setup, web, world["dir"]).client("sts", endpoint_url=server.endpoint,
                                                    verify=str(server.ca_bundle))
    identity = sts.get_caller_identity()
    assert identity["Arn"] == (f"arn:aws:sts::{setup.account.account_id}:assumed-role/"
                               f"spiffe-web/ns.prod.sa.web")
    response = post_session(server, web, body=setup.arns)
    item = response.json()["credentialSet"][0]
    assert item["sourceIdentity"] == "example.org.ns.prod.sa.web"
    # the subject of an SVID without a DN is its SPIFFE ID
    subject = setup.ra.get_subject(subjectId=setup.ra.list_subjects()["subjects"][0][
        "subjectId"])["subject"]
    assert subject["x509Subject"] == "spiffe://example.org/ns/prod/sa/web"

    # the condition refuses another path of the same trust domain
    other = svid(ca1, "spiffe://example.org/ns/dev/sa/web")
    status, _, message = error_of(post_session(server, other, body=setup.arns))
    assert status == 403 and message.startswith("Unable to assume role")

    # plain AWS clients see a CERTIFICATE_BUNDLE anchor whose data is the bundle's
    anchor = setup.ra.get_trust_anchor(trustAnchorId=setup.trust_anchor["trustAnchorId"])
    source = anchor["trustAnchor"]["source"]
    assert source["sourceType"] == "CERTIFICATE_BUNDLE"
    assert source["sourceData"]["x509CertificateData"] == ca1.cert_pem


@pytest.mark.parametrize(("make", "reason"), [
    (lambda ca: devpki.issue_leaf(ca, "no-uri", sans=["DNS:web.example.org"]),
     "exactly one URI SAN (this certificate has 0)"),
    (lambda ca: devpki.issue_leaf(ca, "two-uris", sans=["URI:spiffe://example.org/a",
                                                        "URI:spiffe://example.org/b"]),
     "exactly one URI SAN (this certificate has 2)"),
    (lambda ca: svid(ca, "spiffe://other.org/web", cn="other-td"),
     "SVID spiffe://other.org/web is not of trust domain example.org"),
    (lambda ca: svid(ca, "spiffe://example.org/a/../b", cn="dot-dot"), "path segment '..'"),
    (lambda ca: svid(ca, "spiffe://example.org/web", cn="no-ds",
                     key_usage={"key_encipherment"}), "keyUsage must include digitalSignature"),
    (lambda ca: svid(spire_ca(TD, "SPIRE CA 1"), "spiffe://example.org/forged"),
     "no path to a CA certificate of the trust anchor"),
])
def test_what_is_not_an_svid_of_the_trust_domain_is_refused(world, pki, make, reason) -> None:
    setup = _anchor(world["server"], TD, pki.root)
    leaf = make(world["cas"]["ca1"])
    assert error_of(post_session(world["server"], leaf, body=setup.arns))[2] == UNTRUSTED
    # refused SVIDs without a DN are recorded under their SPIFFE ID
    name = leaf.certificate.subject_dn or leaf.certificate.san_uris[0]
    assert reason in audit_reason(world["server"], name)


def test_bundle_rotation_on_demand_and_on_refresh_hint(world, pki) -> None:
    server, endpoint, cas = world["server"], world["endpoint"], world["cas"]
    setup = _anchor(server, TD, pki.root)
    old, new = svid(cas["ca1"], "spiffe://example.org/old"), svid(cas["ca2"],
                                                                 "spiffe://example.org/new")
    assert post_session(server, old, body=setup.arns).status_code == 201
    # CA 2 joins the bundle: its first SVID makes Roleport fetch the bundle at once, long
    # before the refresh hint (3600 s, capped at half of --spiffe-max-staleness: 30 s)
    endpoint.bundles["/example.org"] = bundle(cas["ca1"], cas["ca2"], refresh_hint=1,
                                              sequence=2)
    time.sleep(1.1)  # on-demand fetches are at most one a second
    before = endpoint.hits["/example.org"]
    assert post_session(server, new, body=setup.arns).status_code == 201
    assert endpoint.hits["/example.org"] == before + 1
    anchor_id = setup.trust_anchor["trustAnchorId"]
    data = setup.ra.get_trust_anchor(trustAnchorId=anchor_id)["trustAnchor"]["source"]
    assert data["sourceData"]["x509CertificateData"] == cas["ca1"].cert_pem + cas["ca2"].cert_pem
    # CA 1 leaves; once the refresh hint (1 s) has passed its SVIDs are refused
    endpoint.bundles["/example.org"] = bundle(cas["ca2"], refresh_hint=3600, sequence=3)
    time.sleep(1.2)
    assert error_of(post_session(server, old, body=setup.arns))[2] == UNTRUSTED
    assert post_session(server, new, body=setup.arns).status_code == 201
    data = setup.ra.get_trust_anchor(trustAnchorId=anchor_id)["trustAnchor"]["source"]
    assert data["sourceData"]["x509CertificateData"] == cas["ca2"].cert_pem
    hits = endpoint.hits["/example.org"]
    for _ in range(3):  # within the hint nothing is fetched again
        assert post_session(server, new, body=setup.arns).status_code == 201
    assert endpoint.hits["/example.org"] == hits


def test_stale_bundle_fails_closed_and_recovers(pki, tmp_path: Path) -> None:
    ca = spire_ca("stale.example")
    with bundle_endpoint(tmp_path) as endpoint:
        endpoint.bundles["/stale"] = bundle(ca, refresh_hint=1)
        with RoleportServer(tmp_path / "server", extra_args=[
                "--spiffe-bundle", f"stale.example={endpoint.base}/stale",
                "--spiffe-bundle-ca", str(endpoint.ca_file),
                "--spiffe-max-staleness", "3"]) as server:
            setup = _anchor(server, "stale.example", pki.root)
            leaf = svid(ca, "spiffe://stale.example/job", cn="stale-job")
            assert post_session(server, leaf, body=setup.arns).status_code == 201
            endpoint.bundles["/stale"] = None  # the endpoint fails from now on
            time.sleep(1.2)  # past the hint: the refresh fails, the bundle is fresh enough
            assert post_session(server, leaf, body=setup.arns).status_code == 201
            time.sleep(2.2)  # past --spiffe-max-staleness 3
            assert error_of(post_session(server, leaf, body=setup.arns))[2] == UNTRUSTED
            reason = _reason(setup, "CN=stale-job")  # the subject record keeps it
            assert "the SPIFFE bundle of stale.example is stale" in reason, reason
            assert "HTTP 503" in reason
            endpoint.bundles["/stale"] = bundle(ca, refresh_hint=1)
            time.sleep(1.1)  # a failed refresh is retried after a short pause
            assert post_session(server, leaf, body=setup.arns).status_code == 201


def test_local_bundle_file(world, pki) -> None:
    setup = _anchor(world["server"], "file.example", pki.root)
    leaf = svid(world["cas"]["file"], "spiffe://file.example/batch")
    assert post_session(world["server"], leaf, body=setup.arns).status_code == 201
    unknown = _anchor(world["server"], "nowhere.example", pki.root)
    assert error_of(post_session(world["server"], svid(world["cas"]["file"],
                                 "spiffe://nowhere.example/x"), body=unknown.arns))[2] == \
        UNTRUSTED
