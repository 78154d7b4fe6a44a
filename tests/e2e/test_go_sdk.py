"""The AWS SDK for Go v2 (service/rolesanywhere) on Roleport's control plane.

The Go tests live in tests/e2e/go/sdk; prepare.sh there downloads their modules and compiles
them into bin/sdk.test (CI runs it before the suite; this test runs it when the binary is
missing or older than its sources). Here the binary runs against a real ``roleport serve``,
pointed at it by the environment variables a Go user would set, and any failing Go test
fails this one with the Go output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from roleport.testing import RoleportServer

GO_SDK_DIR = Path(__file__).parent / "go" / "sdk"
BINARY = GO_SDK_DIR / "bin" / "sdk.test"

#: every Go test must have run and passed: a binary that runs fewer is a failure too
EXPECTED = {
    "TestTrustAnchorCreateGetUpdateEnableDisableDelete", "TestTrustAnchorAliasSetUseRenameRemove",
    "TestNotificationSettingsPutAndReset", "TestProfileCreateGetUpdateEnableDisableDelete",
    "TestProfileAttributeMappingsPutAndDelete", "TestProfileAliasIdentifiesIt",
    "TestCrlImportGetUpdateEnableDisableDelete", "TestCrlAliasAndTheAnchorAliasImportRefuses",
    "TestListTrustAnchorsWithThePaginatorAcrossPages",
    "TestListProfilesWithThePaginatorAcrossPages", "TestListCrlsWithThePaginatorAcrossPages",
    "TestTagsOnTrustAnchorsProfilesAndCrls", "TestTagsBeyondTheLimitAreTooManyTagsException",
    "TestSubjectOfTheSessionIsListedAndDescribed",
    "TestUnknownResourcesAreResourceNotFoundException", "TestBadInputIsValidationException",
    "TestSessionCredentialsOnTheControlPlaneAreAccessDeniedException",
    "TestBadKeysAreTheSignatureErrorsAWSGives", "TestAnExplicitlyConfiguredClientWorksToo",
}


def _go() -> str | None:
    found = shutil.which("go")
    if found is None and os.access("/usr/local/go/bin/go", os.X_OK):
        found = "/usr/local/go/bin/go"
    return found


def _stale() -> bool:
    if not BINARY.exists():
        return True
    built = BINARY.stat().st_mtime
    sources = [*GO_SDK_DIR.glob("*.go"), GO_SDK_DIR / "go.mod", GO_SDK_DIR / "go.sum"]
    return any(src.stat().st_mtime > built for src in sources)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def go_sdk_tests() -> Path:
    """The compiled Go tests, built by prepare.sh when missing or stale."""
    if _stale():
        go = _go()
        if go is None:
            _unavailable("the Go SDK tests need a Go toolchain (go >= 1.24) to build "
                         "tests/e2e/go/sdk; none is on PATH or in /usr/local/go")
        proc = subprocess.run(["bash", str(GO_SDK_DIR / "prepare.sh")], check=False,
                              env={**os.environ, "GO": str(go)}, capture_output=True,
                              text=True, timeout=900)
        if proc.returncode != 0:
            pytest.fail(f"tests/e2e/go/sdk/prepare.sh failed:\n{proc.stdout}{proc.stderr}")
    return BINARY


def _go_env(server: RoleportServer) -> dict[str, str]:
    """Roleport's address and an account, in the variables the Go tests read; the caller's
    own AWS settings are left out so that nothing but Roleport can answer."""
    account = server.new_account()
    setup = server.setup_roles_anywhere(account, cn="go-sdk-subject")
    session = setup.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(server.aws_env(account))
    env.update({
        "ROLEPORT_ACCOUNT_ID": account.account_id,
        "ROLEPORT_SESSION_ACCESS_KEY_ID": session.access_key_id,
        "ROLEPORT_SESSION_SECRET_ACCESS_KEY": session.secret_access_key,
        "ROLEPORT_SESSION_TOKEN": session.session_token,
        "ROLEPORT_SUBJECT_CN": "go-sdk-subject",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def _without_passes(output: str) -> str:
    """The Go output without the lines of tests that passed (what failed stays, with logs)."""
    return "\n".join(line for line in output.splitlines()
                     if not re.match(r"\s*(=== (RUN|PAUSE|CONT)|--- PASS)", line))


def test_aws_sdk_for_go_v2_manages_the_control_plane(server: RoleportServer,
                                                      go_sdk_tests: Path) -> None:
    proc = subprocess.run([str(go_sdk_tests), "-test.v", "-test.count=1",
                           "-test.timeout=120s"], check=False, cwd=GO_SDK_DIR,
                          env=_go_env(server), capture_output=True, text=True, timeout=180)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the Go SDK tests failed:\n{_without_passes(output)}"
    passed = set(re.findall(r"^--- PASS: (Test\w+)", output, re.MULTILINE))
    assert EXPECTED <= passed, f"Go tests that did not pass: {sorted(EXPECTED - passed)}\n" \
                               f"{output}"
