"""A real ``roleport serve`` process per session (SQLite and PostgreSQL), boto3 clients,
and a fresh account per test so tests never see each other's resources."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roleport.testing import Account, RoleportServer


@pytest.fixture(scope="session")
def server() -> Iterator[RoleportServer]:
    with RoleportServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def pg_server(postgres_url: str) -> Iterator[RoleportServer]:
    with RoleportServer(database_url=postgres_url) as srv:
        yield srv


@pytest.fixture()
def account(server: RoleportServer) -> Account:
    return server.new_account()


@pytest.fixture()
def ra(server: RoleportServer, account: Account):  # noqa: ANN201
    """A boto3 rolesanywhere client in a fresh account."""
    return server.client("rolesanywhere", account, client_validation=False)


def bundle_source(*issued) -> dict:  # noqa: ANN001
    return {"sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": "".join(i.cert_pem for i in issued)}}
