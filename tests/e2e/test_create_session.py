"""CreateSession through a real server over HTTPS: AWS's response shape, the vended
credentials working against STS, the subject record, and every row of the error table
with a certificate made for it (each refusal carries no credentials)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import (
    EXPIRATION,
    Setup,
    crl_server,
    error_of,
    post_session,
    sts_identity,
    trust_policy,
)


@pytest.fixture()
def world(server: RoleportServer, pki) -> Setup:
    return Setup(server, server.new_account(), [pki.root])


def test_create_session_returns_aws_shape_and_working_credentials(world: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.intermediate, "alice", sans=["DNS:alice.example"])
    response = post_session(world.server, leaf, body={**world.arns, "durationSeconds": 900})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amzn-RequestId"]
    body = response.json()
    assert set(body) == {"credentialSet", "subjectArn"}
    [item] = body["credentialSet"]
    assert set(item) == {"assumedRoleUser", "credentials", "packedPolicySize", "roleArn",
                         "sourceIdentity"}
    serial = leaf.certificate.serial_hex
    account = world.account.account_id
    assert item["assumedRoleUser"]["arn"] == f"arn:aws:sts::{account}:assumed-role/workload/{serial}"
    assert item["assumedRoleUser"]["assumedRoleId"].endswith(f":{serial}")
    creds = item["credentials"]
    assert set(creds) == {"accessKeyId", "expiration", "secretAccessKey", "sessionToken"}
    assert creds["accessKeyId"].startswith("ASIA")
    assert re.fullmatch(EXPIRATION, creds["expiration"])
    expires = datetime.strptime(creds["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=880) < expires - datetime.now(UTC) <= timedelta(seconds=900)
    assert item["packedPolicySize"] >= 0
    assert item["roleArn"] == world.role_arn
    assert item["sourceIdentity"] == "CN=alice"
    assert body["subjectArn"].startswith(f"arn:aws:rolesanywhere:us-east-1:{account}:subject/")

    identity = sts_identity(world.server, creds)
    assert identity["Account"] == account
    assert identity["Arn"] == item["assumedRoleUser"]["arn"]

    subject_id = body["subjectArn"].rsplit("/", 1)[1]
    subject = world.ra.get_subject(subjectId=subject_id)["subject"]
    assert subject["x509Subject"] == leaf.certificate.subject_dn
    [cred] = subject["credentials"]
    assert cred["failed"] is False
    assert cred["x509CertificateData"] == leaf.certificate.pem
    listed = world.ra.list_subjects()["subjects"]
    assert [s["subjectId"] for s in listed] == [subject_id]
    world.ra.tag_resource(resourceArn=body["subjectArn"], tags=[{"key": "team", "value": "a"}])
    assert world.ra.list_tags_for_resource(resourceArn=body["subjectArn"])["tags"] == [
        {"key": "team", "value": "a"}]


def test_missing_arn_and_bad_duration_are_validation_errors(world: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.root, "v")
    arns = dict(world.arns)
    del arns["roleArn"]
    status, code, message = error_of(post_session(world.server, leaf, body=arns))
    assert (status, code) == (400, "ValidationException") and "roleArn" in message
    status, code, message = error_of(post_session(world.server, leaf,
                                                  body={**world.arns, "durationSeconds": 60}))
    assert (status, code) == (400, "ValidationException") and "durationSeconds" in message


# -- refusals beside a success (every other refusal: refusal_corpus.py) --------------------

UNTRUSTED = "Untrusted signing certificate"


def test_role_session_name_refused_then_accepted(world: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.root, "named")
    body = {**world.arns, "roleSessionName": "build-42"}
    assert error_of(post_session(world.server, leaf, body=body))[2] == \
        "Not authorized to set roleSessionName"
    world.ra.update_profile(profileId=world.profile["profileId"], acceptRoleSessionName=True)
    response = post_session(world.server, leaf, body=body)
    assert response.status_code == 201, response.text
    assert response.json()["credentialSet"][0]["assumedRoleUser"]["arn"].endswith(
        "/workload/build-42")


def test_trust_policy_condition_false(world: Setup, pki) -> None:
    role = world.role("only-bob", policy=trust_policy(condition={
        "StringEquals": {"aws:PrincipalTag/x509Subject/CN": "bob"}}))
    world.ra.update_profile(profileId=world.profile["profileId"], roleArns=[role])
    body = {**world.arns, "roleArn": role}
    status, _, message = error_of(post_session(world.server, devpki.issue_leaf(
        pki.root, "alice"), body=body))
    assert status == 403 and message.startswith(f"Unable to assume role for {role}")
    assert post_session(world.server, devpki.issue_leaf(pki.root, "bob"),
                        body=body).status_code == 201


def test_trust_policy_without_tag_session(world: Setup, pki) -> None:
    role = world.role("no-tags", policy=trust_policy(["sts:AssumeRole",
                                                      "sts:SetSourceIdentity"]))
    world.ra.update_profile(profileId=world.profile["profileId"], roleArns=[role])
    status, _, message = error_of(post_session(world.server, devpki.issue_leaf(
        pki.root, "t"), body={**world.arns, "roleArn": role}))
    assert status == 403 and message.startswith(f"Unable to assume role for {role}")


def _import_crl(world: Setup, crl, enabled: bool) -> None:
    world.ra.import_crl(name="crl", crlData=crl.pem.encode(), enabled=enabled,
                        trustAnchorArn=world.arns["trustAnchorArn"])


def test_revoked_by_imported_crl_and_disabled_crl_ignored(world: Setup, pki) -> None:
    revoked = devpki.issue_leaf(pki.root, "revoked")
    forgiven = devpki.issue_leaf(pki.root, "forgiven")
    _import_crl(world, devpki.create_crl(pki.root, revoked=[revoked.certificate.serial]),
                True)
    _import_crl(world, devpki.create_crl(pki.root, revoked=[forgiven.certificate.serial]),
                False)
    assert error_of(post_session(world.server, revoked, body=world.arns))[2] == UNTRUSTED
    assert post_session(world.server, forgiven, body=world.arns).status_code == 201


def test_crl_distribution_points(world: Setup, pki) -> None:
    _check_crl_distribution_points(world, pki)


def test_crl_distribution_points_with_requests_on_the_event_loop(tmp_path, pki) -> None:
    """The fetch moves the request from the loop to the pool (roleport.offload): same
    answers, and nothing recorded twice."""
    with RoleportServer(tmp_path / "loop", extra_args=["--dispatch", "loop"]) as srv:
        world = Setup(srv, srv.new_account(), [pki.root])
        _check_crl_distribution_points(world, pki)
        subjects = world.ra.list_subjects()["subjects"]
        assert len(subjects) == 3
        for summary in subjects:
            subject = world.ra.get_subject(subjectId=summary["subjectId"])["subject"]
            assert len(subject["credentials"]) == 1


def _check_crl_distribution_points(world: Setup, pki) -> None:
    world.ra.update_trust_anchor(trustAnchorId=world.trust_anchor["trustAnchorId"],
                                 crlDpRevocationEnabled=True)
    with crl_server() as (base, routes):
        good = devpki.issue_leaf(pki.root, "dp-good", crl_distribution_points=[f"{base}/a.crl"])
        revoked = devpki.issue_leaf(pki.root, "dp-revoked",
                                    crl_distribution_points=[f"{base}/b.crl"])
        down = devpki.issue_leaf(pki.root, "dp-down",
                                 crl_distribution_points=[f"{base}/missing.crl"])
        routes["/a.crl"] = devpki.create_crl(pki.root).der
        routes["/b.crl"] = devpki.create_crl(pki.root, revoked=[revoked.certificate.serial]).der
        assert post_session(world.server, good, body=world.arns).status_code == 201
        assert error_of(post_session(world.server, revoked, body=world.arns))[2] == UNTRUSTED
        status, _, message = error_of(post_session(world.server, down, body=world.arns))
        assert status == 403 and message == (
            "Untrusted signing certificate: the revocation status could not be checked.")
        assert "HTTP 404" not in message and base not in message


def test_failed_attempt_is_on_the_subject_record(world: Setup, pki) -> None:
    leaf = devpki.issue_leaf(pki.root, "audited")
    post_session(world.server, leaf, body={**world.arns, "roleArn": world.role("x")})
    [summary] = world.ra.list_subjects()["subjects"]
    subject = world.ra.get_subject(subjectId=summary["subjectId"])["subject"]
    assert subject["credentials"][0]["failed"] is True
    # what the API cannot show, the operator's CLI can: which check refused it and why
    import json
    import subprocess
    import sys

    for ident in (summary["subjectId"], leaf.certificate.subject_dn):
        out = subprocess.run([sys.executable, "-m", "roleport.cli.main", "subjects", "show",
                              "--data-dir", str(world.server.data_dir), "--account-id",
                              world.account.account_id, ident], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        [attempt] = json.loads(out.stdout)["attempts"]
        assert attempt["failed"] is True
        assert attempt["failureReason"].startswith("role:")


def test_strict_signing_refuses_leniencies(pki, tmp_path) -> None:
    with RoleportServer(tmp_path / "strict", extra_args=["--strict-signing"]) as strict:
        setup = Setup(strict, strict.new_account(), [pki.rsa_root])
        leaf = devpki.issue_leaf(pki.rsa_root, "pss", key_type="rsa")
        pss = post_session(strict, leaf, body=setup.arns,
                           sign=lambda d: leaf.key.sign_as(d, rsa_pss=True))
        assert error_of(pss) == (403, "AccessDeniedException", "Invalid signature")
        assert post_session(strict, leaf, body=setup.arns).status_code == 201


@pytest.mark.postgres
def test_create_session_on_postgresql_with_concurrent_first_sight(pg_server, pki) -> None:
    # many first attempts of one new DN at once: one subject, every attempt recorded
    from concurrent.futures import ThreadPoolExecutor

    setup = Setup(pg_server, pg_server.new_account(), [pki.root])
    leaves = [devpki.issue_leaf(pki.root, "burst") for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda leaf: post_session(pg_server, leaf,
                                                        body=setup.arns).status_code, leaves))
    assert codes == [201] * 6
    [summary] = setup.ra.list_subjects()["subjects"]
    subject = setup.ra.get_subject(subjectId=summary["subjectId"])["subject"]
    assert len(subject["credentials"]) == 6
