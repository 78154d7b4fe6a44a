"""`roleport pki` through its entry point: a CA and an intermediate, client certificates
of each key type that work with CreateSession, and a revocation that a CRL import makes
CreateSession refuse."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

from roleport.client.provisioning import provision
from roleport.testing import RoleportServer

from .test_signing_helper_support import ROLEPORT, clean_env, helper


def pki(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROLEPORT, "pki", *args], check=False, capture_output=True, text=True,
                          timeout=60, env=clean_env())


def test_pki_init_issue_revoke_crl_end_to_end(server: RoleportServer, tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    d = ["--dir", str(folder)]
    done = pki("init", *d, "--intermediate")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for key in ("ca.key", "intermediate.key"):
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600
    assert pki("init", *d).returncode != 0  # never overwrites a CA by accident
    for cn, key_type in (("alice", "ec"), ("bob", "rsa"), ("carol", "mldsa")):
        done = pki("issue", *d, "--cn", cn, "--key-type", key_type, "--san", f"DNS:{cn}.example")
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE((folder / f"{cn}.key").stat().st_mode) == 0o600

    account = server.new_account()
    clients = server.clients(account)
    made = provision(clients.rolesanywhere, clients.iam,
                     ca_pem=(folder / "trust-anchor.pem").read_text(), name="pki-cli")

    def credentials(cn: str) -> subprocess.CompletedProcess[str]:
        return helper("credential-process", "--certificate", str(folder / f"{cn}.pem"),
                      "--private-key", str(folder / f"{cn}.key"),
                      "--intermediates", str(folder / f"{cn}-chain.pem"),
                      "--trust-anchor-arn", made.trust_anchor_arn,
                      "--profile-arn", made.profile_arn, "--role-arn", made.role_arn,
                      "--endpoint", server.endpoint, "--ca-bundle", str(server.ca_bundle))

    for cn in ("alice", "bob", "carol"):
        result = credentials(cn)
        assert result.returncode == 0, (cn, result.stderr)

    assert pki("revoke", *d, "bob").returncode == 0
    done = pki("crl", *d)
    assert done.returncode == 0, done.stderr
    index = json.loads((folder / "index.json").read_text())
    assert [e["name"] for e in index["issued"] if e["revoked"]] == ["bob"]
    clients.rolesanywhere.import_crl(name="dev", enabled=True,
                                     trustAnchorArn=made.trust_anchor_arn,
                                     crlData=(folder / "crl.pem").read_bytes())
    refused = credentials("bob")
    assert refused.returncode == 4 and "AccessDeniedException" in refused.stderr
    assert credentials("alice").returncode == 0
