"""A unit of work: one transaction, with the repositories bound to it.

Leaving the ``with`` block normally commits a write unit (a read unit just ends);
an exception rolls everything back, so a failed request leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import zlib
from types import TracebackType

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from roleport.domain.context import Scope
from roleport.storage.base import StorageError
from roleport.storage.sealing import SecretSealer
from roleport.storage.sql import codecs, tables
from roleport.storage.sql.engine import is_sqlite
from roleport.storage.sql.repositories import SqlAccessKeys, SqlRepository
from roleport.storage.sql.repositories import conflict as _conflict
from roleport.storage.sql.roles import SqlRoles


class SqlUnitOfWork:
    def __init__(self, engine: Engine, *, write: bool,
                 sealer: SecretSealer | None = None) -> None:
        self._engine = engine
        self._write = write
        self._sealer = sealer
        self._sqlite = is_sqlite(engine)
        self._conn: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        try:
            conn = self._engine.connect()
            if self._sqlite:
                # writers take the write lock up front; a read runs in autocommit (each
                # statement sees a consistent snapshot) and saves a BEGIN/ROLLBACK pair
                conn.execution_options(sqlite_begin="IMMEDIATE" if self._write else "NONE")
            conn.begin()
        except (OperationalError, InterfaceError) as exc:
            raise StorageError(f"database unavailable: {exc.orig}") from None
        self._conn = conn
        lockable = not self._sqlite
        self.trust_anchors = SqlRepository(conn, tables.trust_anchors, codecs.TRUST_ANCHORS,
                                           lockable=lockable)
        self.profiles = SqlRepository(conn, tables.profiles, codecs.PROFILES, lockable=lockable)
        self.crls = SqlRepository(conn, tables.crls, codecs.CRLS, lockable=lockable)
        self.subjects = SqlRepository(conn, tables.subjects, codecs.SUBJECTS, lockable=lockable)
        self.access_keys = SqlAccessKeys(conn, self._sealer)
        self.iam_roles = SqlRoles(conn, lockable=lockable)
        return self

    @property
    def connection(self) -> Connection:
        assert self._conn is not None
        return self._conn

    def lock_scope(self, scope: Scope) -> None:
        if self._sqlite:
            return  # BEGIN IMMEDIATE already holds the database's single write lock
        key = zlib.crc32(f"{scope.account_id}/{scope.region}".encode())
        self.connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        try:
            if exc_type is None and self._write:
                try:
                    conn.commit()
                except IntegrityError as err:
                    raise _conflict(err) from None
                except DBAPIError as err:
                    raise StorageError(f"commit failed: {err.orig}") from None
            else:
                try:
                    conn.rollback()
                except DBAPIError as err:  # the connection went away with the database
                    if exc is None:
                        raise StorageError(f"database error: {err.orig}") from None
        finally:
            with contextlib.suppress(DBAPIError):
                conn.close()
        if isinstance(exc, IntegrityError):
            raise _conflict(exc) from None
        if _unavailable(exc):
            raise StorageError(f"database error: {exc.orig}") from None  # type: ignore[union-attr]


def _unavailable(exc: BaseException | None) -> bool:
    """A driver error that says the database cannot be reached or the connection broke
    (a stopped server, a reset connection), as opposed to a bug in a statement."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class SqlStore:
    """The storage entry point: engine, migrations, units of work.

    ``sealer`` seals and opens the stored secrets (access keys); without one, secrets
    can be neither written nor read.
    """

    def __init__(self, engine: Engine, sealer: SecretSealer | None = None) -> None:
        self.engine = engine
        self.sealer = sealer

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write, sealer=self.sealer)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                conn.rollback()
            return True
        except DBAPIError:
            return False

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file and empty it, so the
        pages a write replaced are gone from both (no-op on PostgreSQL)."""
        if is_sqlite(self.engine):
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_begin="NONE")  # outside any transaction
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all()
                conn.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
