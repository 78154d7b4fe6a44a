"""Fixtures shared by every test layer: PostgreSQL databases and a development PKI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get("ROLEPORT_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def _pg_connect(url: str):  # noqa: ANN202
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards).

    Under CI=true an unreachable PostgreSQL fails the run instead of skipping.
    """
    try:
        admin = _pg_connect(PG_ADMIN_URL)
    except Exception as exc:  # noqa: BLE001
        message = f"PostgreSQL is unreachable at {PG_ADMIN_URL}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"roleport_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pki():  # noqa: ANN201
    """A small development PKI: an EC root, an intermediate under it, an RSA root."""
    from roleport.crypto import devpki

    class Pki:
        root = devpki.create_root_ca("Test Root CA", key_type="ec")
        intermediate = devpki.create_intermediate_ca(root, cn="Test Intermediate CA")
        other_root = devpki.create_root_ca("Other Root CA", key_type="ec")
        rsa_root = devpki.create_root_ca("Test RSA Root CA", key_type="rsa")

    return Pki
