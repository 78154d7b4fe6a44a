"""``roleport explain`` agrees with the server: on every case of the refusal corpus it
applies to, and on a success, its verdict, refusing check and message are the server's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from roleport.cli.main import cli
from roleport.crypto import devpki

from .clients.support import Setup, trust_policy
from .refusal_corpus import CASES, Attempt, Case, World, send
from .test_refusal_corpus import audit_line, crls, strict_server  # noqa: F401 - fixtures

EXPLAINED = [case for case in CASES if case.explain]


def run_explain(world: World, attempt: Attempt, tmp_path: Path, *extra: str,
                key: bool = True) -> tuple[int, dict]:
    """``roleport explain --json`` on the attempt's certificate, chain and key, reading the
    resources from the world's server with the account's admin keys."""
    server, setup = world.setup.server, world.setup
    leaf = attempt.leaf
    (tmp_path / "leaf.pem").write_text(leaf.cert_pem)
    args = ["explain", str(tmp_path / "leaf.pem"), "--json", "--endpoint", server.endpoint,
            "--ca-bundle", str(server.ca_bundle), "--region", server.region]
    chain = leaf.intermediates if attempt.chain is None else attempt.chain
    if chain:
        (tmp_path / "chain.pem").write_text("".join(c.pem for c in chain))
        args += ["--chain", str(tmp_path / "chain.pem")]
    if key and attempt.signing_key is not None:
        from cryptography.hazmat.primitives import serialization

        pem = attempt.signing_key._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        (tmp_path / "key.pem").write_bytes(pem)
        args += ["--private-key", str(tmp_path / "key.pem")]
    body = {**setup.arns, **attempt.body}
    args += ["--trust-anchor", body["trustAnchorArn"], "--profile", body["profileArn"],
             "--role", body["roleArn"], *extra]
    if "durationSeconds" in body:
        args += ["--duration-seconds", str(body["durationSeconds"])]
    if "roleSessionName" in body:
        args += ["--role-session-name", body["roleSessionName"]]
    account = setup.account
    env = {"AWS_ACCESS_KEY_ID": account.access_key_id,
           "AWS_SECRET_ACCESS_KEY": account.secret_access_key, "AWS_SESSION_TOKEN": None,
           "AWS_PROFILE": None, "AWS_ENDPOINT_URL": None}
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code in (0, 1, 4), result.output
    return result.exit_code, json.loads(result.output)


@pytest.mark.parametrize("case", EXPLAINED, ids=[case.id for case in EXPLAINED])
def test_explain_agrees_with_the_server(case: Case, request, pki, crls, tmp_path) -> None:  # noqa: ANN001
    server = request.getfixturevalue("strict_server" if case.strict else "server")
    world = World(Setup(server, server.new_account(), [getattr(pki, case.anchor)]), pki, *crls)
    attempt = case.make(world)
    code, explained = run_explain(world, attempt, tmp_path,
                                  *(["--strict-signing"] if case.strict else []))
    start = len(server.output)
    response = send(world, attempt)
    line = audit_line(server, start, response.headers["x-amzn-RequestId"])
    assert line is not None and response.status_code == 403

    assert code == 1 and explained["verdict"] == "refused", explained
    assert explained["check"] == line["check"], explained["checks"]
    assert explained["message"] == response.json()["message"]
    failed = next(c for c in explained["checks"] if c["status"] == "failed")
    assert _at_any_time(failed["reason"]) == _at_any_time(line["reason"]) \
        or failed["check"] == "revocation", (failed, line)


def _at_any_time(reason: str) -> str:
    """The reason without the time of the check ("notAfter X is before NOW"): explain and
    the server check a second apart, and the clock may tick between them."""
    return re.sub(r"(is (?:before|after)) \S+Z", r"\1 <now>", reason)


def test_explain_agrees_on_a_success_and_says_what_it_skipped(server, pki, tmp_path) -> None:
    world = World(Setup(server, server.new_account(), [pki.root]), pki, "", {})
    attempt = Attempt(devpki.issue_leaf(pki.intermediate, "fine"))
    code, explained = run_explain(world, attempt, tmp_path)
    assert (code, explained["verdict"], explained["check"]) == (0, "allowed", None)
    assert [c["status"] for c in explained["checks"]] == ["passed"] * 10
    assert send(world, attempt).status_code == 201
    code, unsigned = run_explain(world, attempt, tmp_path, key=False)
    assert code == 4 and unsigned["verdict"] == "allowed"
    [signature] = [c for c in unsigned["checks"] if c["check"] == "signature"]
    assert signature["status"] == "skipped" and "private key" in signature["reason"]


def test_explain_goes_on_after_a_failure_and_says_what_to_change(server, pki,
                                                                 tmp_path) -> None:
    """An expired leaf of another CA, asking for a role the trust policy refuses: every
    problem is reported, each with what to change; the first is the server's answer."""
    world = World(Setup(server, server.new_account(), [pki.root]), pki, "", {})
    role = world.setup.role("ops-only", policy=trust_policy(condition={
        "StringEquals": {"aws:PrincipalTag/x509Subject/OU": "ops"}}))
    world.setup.ra.update_profile(profileId=world.setup.profile["profileId"],
                                  roleArns=[role])
    leaf = devpki.issue_leaf(pki.other_root, subject=[("OU", "dev"), ("CN", "deployer")])
    code, explained = run_explain(world, Attempt(leaf, body={"roleArn": role}), tmp_path)
    assert code == 1 and explained["check"] == "certificate"
    by_check = {c["check"]: c for c in explained["checks"]}
    assert by_check["certificate"]["hint"].startswith(
        "the leaf's issuer DN (CN=Other Root CA) does not match any certificate of trust "
        f"anchor {world.setup.trust_anchor['trustAnchorId']} or of the chain; closest: "
        "CN=Test Root CA")
    assert by_check["revocation"]["status"] == "skipped"
    assume = by_check["assume-role"]
    assert assume["status"] == "failed"
    assert "aws:PrincipalTag/x509Subject/OU does not match: request has ['dev'], policy " \
           "has ['ops']" in assume["reason"]
    assert assume["hint"].startswith("the role's trust policy requires aws:PrincipalTag/"
                                     "x509Subject/OU StringEquals ['ops']; this certificate "
                                     "gives ['dev']")


def test_explain_from_files_and_its_text_report(server, pki, tmp_path) -> None:
    """The resources as the AWS CLI prints them, no server; the human-readable report;
    --help; the exit code of a real process."""
    setup = Setup(server, server.new_account(), [pki.root])
    setup.ra.disable_profile(profileId=setup.profile["profileId"])
    files = {"anchor": setup.ra.get_trust_anchor(
                 trustAnchorId=setup.trust_anchor["trustAnchorId"]),
             "profile": setup.ra.get_profile(profileId=setup.profile["profileId"]),
             "role": setup.iam.get_role(RoleName="workload")}
    for name, data in files.items():
        data.pop("ResponseMetadata", None)
        (tmp_path / f"{name}.json").write_text(json.dumps(data, default=str))
    leaf = devpki.issue_leaf(pki.root, "from-files")
    (tmp_path / "leaf.der").write_bytes(leaf.certificate.der)
    (tmp_path / "leaf.key").write_text(leaf.key_pem)
    out = subprocess.run(
        [sys.executable, "-m", "roleport.cli.main", "explain", str(tmp_path / "leaf.der"),
         "--private-key", str(tmp_path / "leaf.key"),
         "--trust-anchor-file", str(tmp_path / "anchor.json"),
         "--profile-file", str(tmp_path / "profile.json"),
         "--role-file", str(tmp_path / "role.json")],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "PASS  trust-anchor" in out.stdout
    assert f"FAIL  profile: profile {setup.profile['profileId']} is disabled" in out.stdout
    assert "to change: enable it: aws rolesanywhere enable-profile --profile-id" in out.stdout
    assert "PASS  assume-role" in out.stdout
    assert 'REFUSED by the profile check: 403 "Invalid or empty profile provided."' in out.stdout
    helped = subprocess.run([sys.executable, "-m", "roleport.cli.main", "explain", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "Exit codes: 0" in helped.stdout and "--private-key" in helped.stdout
