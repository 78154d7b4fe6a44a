"""`roleport serve --strict-signing` refuses what real clients get wrong, never what the
official aws_signing_helper sends: v1.4.0 sends its body chunked, the chain in file order
with the root, SHA-256 signatures for every key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleport.testing import DevPki, RoleportServer

from .support import credential_args, official_env, run


@pytest.fixture(scope="module")
def strict_server() -> Iterator[RoleportServer]:
    with RoleportServer(extra_args=["--strict-signing"]) as server:
        yield server


def test_strict_signing_accepts_the_official_helper_with_each_key_type(
        aws_signing_helper: Path, strict_server: RoleportServer, pki: DevPki) -> None:
    setup = strict_server.setup_roles_anywhere(pki=pki)
    for key_type, options in (("ec", {}), ("ec", {"curve": "secp384r1"}), ("rsa", {})):
        certificate = pki.issue(f"strict-{key_type}", key_type=key_type, **options)
        done = run(aws_signing_helper, "credential-process",
                   *credential_args(setup, certificate), env=official_env(setup))
        assert done.returncode == 0, (key_type, options, done.stderr)
        assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")
