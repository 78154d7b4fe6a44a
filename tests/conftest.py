"""Fixtures shared by every test layer: PostgreSQL databases and a development PKI."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_THROWAWAY = None


def pg_admin_url() -> str:
    return os.environ.get("ROLEPORT_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _pg_connect(url: str):  # noqa: ANN202
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def pytest_configure(config: pytest.Config) -> None:
    """Once per run (in the xdist controller): make sure a PostgreSQL answers.

    When nothing answers at ROLEPORT_TEST_POSTGRES_URL (default: 127.0.0.1:5432), start a
    throwaway server (tests/pg_server.py) and point every worker at it.
    """
    global _THROWAWAY
    if os.environ.get("PYTEST_XDIST_WORKER") or config.option.collectonly:
        return
    try:
        _pg_connect(pg_admin_url()).close()
        return
    except Exception:  # noqa: BLE001 - any failure to connect: bring our own
        pass
    from tests.pg_server import ThrowawayPostgres, find_bindir

    bindir = find_bindir()
    if bindir is None:
        return  # postgres_url fails with the reason
    _THROWAWAY = ThrowawayPostgres.start(bindir)
    os.environ["ROLEPORT_TEST_POSTGRES_URL"] = _THROWAWAY.url


def pytest_unconfigure(config: pytest.Config) -> None:
    global _THROWAWAY
    if _THROWAWAY is not None:
        _THROWAWAY.stop()
        _THROWAWAY = None


@contextlib.contextmanager
def new_database(prefix: str = "roleport") -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server (dropped afterwards).

    The server is the one at ROLEPORT_TEST_POSTGRES_URL, or the throwaway one this run
    started (pytest_configure); a PostgreSQL that cannot be had fails the test, never skips it.
    """
    url = pg_admin_url()
    try:
        admin = _pg_connect(url)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is unreachable at {url} and no server binaries were found "
                    f"to start one (install the test extras: make install-test): {exc}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (see :func:`new_database`)."""
    with new_database() as url:
        yield url


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
