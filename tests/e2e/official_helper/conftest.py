"""The official aws_signing_helper (built from the Go module proxy by
tests/e2e/go/build-signing-helper.sh), a PKI and a Roles Anywhere setup on the session's
real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from roleport.testing import DevPki, RoleportServer, RolesAnywhereSetup

from .support import built_binary


@pytest.fixture(scope="session")
def aws_signing_helper() -> Path:
    """Path of the official binary."""
    return built_binary()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPki]:
    dev = DevPki(tmp_path_factory.mktemp("official-pki"))
    yield dev
    dev.close()


@pytest.fixture(scope="module")
def setup(server: RoleportServer, pki: DevPki) -> RolesAnywhereSetup:
    """Trust anchor (root + issuing CA), role, profile accepting roleSessionName."""
    return server.setup_roles_anywhere(pki=pki, accept_role_session_name=True)
