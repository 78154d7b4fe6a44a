"""Helpers of the official-helper tests (no tests here): build or find the official
``aws_signing_helper`` (tests/e2e/go), run it and ``roleport-signing-helper`` on the same
arguments, in a temporary HOME with no AWS settings inherited.

The official binary at the pinned version (v1.4.0, on aws-sdk-go v1) does not read
``AWS_CA_BUNDLE``: it trusts the system roots, which Go takes from ``SSL_CERT_FILE``. That
is how these tests make it trust the test server's CA."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from roleport.testing import ClientCertificate, RolesAnywhereSetup

from ..test_signing_helper_support import HELPER, clean_env

GO_DIR = Path(__file__).resolve().parent.parent / "go"
BUILD_SCRIPT = GO_DIR / "build-signing-helper.sh"
BINARY = GO_DIR / "bin" / "aws_signing_helper"


def built_binary() -> Path:
    """The official binary, built from tests/e2e/go/signing_helper (go.mod + go.sum).

    Under CI=true it must have been built before the tests (.ci/run does): a missing or
    stale binary fails, since the tests talk to loopback only. Elsewhere the build script
    runs now (a no-op when current) and a missing Go fails with the script's reason."""
    if os.environ.get("CI", "").lower() == "true":
        check = subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False,
                               capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            pytest.fail(f"{BINARY} is missing or not built from the pinned go.sum; run "
                        f"{BUILD_SCRIPT} before the tests (.ci/run must). {check.stderr}")
        return BINARY
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], check=False, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"could not build the official aws_signing_helper with {BUILD_SCRIPT} "
                    f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
    return BINARY


def official_env(setup: RolesAnywhereSetup, home: Path | None = None,
                 **extra: str) -> dict[str, str]:
    """A clean environment in which the official binary trusts the server's CA."""
    return clean_env(home, SSL_CERT_FILE=str(setup.server.ca_bundle), **extra)


def ours_env(setup: RolesAnywhereSetup, home: Path | None = None, **extra: str) -> dict[str, str]:
    """The same for roleport-signing-helper (which reads AWS_CA_BUNDLE, as SDKs do)."""
    return clean_env(home, AWS_CA_BUNDLE=str(setup.server.ca_bundle), **extra)


def sdk_env(setup: RolesAnywhereSetup, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment pointing boto3 at the server, with no credentials of its own."""
    return clean_env(home, AWS_ENDPOINT_URL=setup.server.endpoint,
                     AWS_CA_BUNDLE=str(setup.server.ca_bundle),
                     AWS_DEFAULT_REGION=setup.region, **extra)


def credential_args(setup: RolesAnywhereSetup,
                    certificate: ClientCertificate | None = None) -> list[str]:
    """Arguments both helpers take: key, certificate, intermediates, the three ARNs,
    --endpoint (and --session-duration when the setup has one)."""
    args = setup.helper_args(certificate)
    if "--ca-bundle" in args:  # ours only; the official binary has no such flag
        at = args.index("--ca-bundle")
        del args[at:at + 2]
    return args


def run(program: list[str] | Path, *args: str, env: dict[str, str],
        timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run a helper to completion; stdout kept as bytes (sign-string --format bin)."""
    command = [str(program)] if isinstance(program, Path) else list(program)
    return subprocess.run([*command, *args], check=False, capture_output=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def ours(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return run(HELPER, *args, env=env)
