"""Engines for SQLite (embedded default, WAL) and PostgreSQL (scale-out).

SQLite: WAL journal, foreign keys on, a busy timeout, and writers that take the write
lock up front (``BEGIN IMMEDIATE``) so two writers queue instead of failing with
"database is locked" when a read lock cannot be upgraded.
Durability (docs/security.md, "Durability"): with ``synchronous=FULL`` (the default) a
commit returns once the write-ahead log is on disk, so an acknowledged write survives a
power loss; ``NORMAL`` syncs only at checkpoints (a commit survives the process being
killed, not the machine losing power) and is what a unit of work that is not ``durable``
(CreateSession's subject bookkeeping) commits with either way. A FULL commit syncs the
log up to itself, NORMAL ones before it included.
PostgreSQL: psycopg 3, READ COMMITTED, row locks (``FOR UPDATE``) for read-modify-write.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger("roleport.storage")


def normalise_url(url: str) -> str:
    """Accept the URLs users write (``postgresql://``) and pick our drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


#: the ``--sqlite-synchronous`` choices
SQLITE_SYNCHRONOUS = ("full", "normal")


def create(url: str, *, pool_size: int = 8, sqlite_synchronous: str = "full") -> Engine:
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=pool_size, max_overflow=pool_size)
        _configure_sqlite(engine, sqlite_synchronous.upper())
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         isolation_level="READ COMMITTED")


def durability_warnings(engine: Engine) -> list[str]:
    """PostgreSQL settings under which a commit Roleport acknowledged can be lost when the
    database (not Roleport) crashes: said at start, since Roleport cannot change them."""
    if is_sqlite(engine):
        return []  # --sqlite-synchronous is Roleport's own, and its choice is documented
    with engine.connect() as conn:
        fsync = conn.exec_driver_sql("SHOW fsync").scalar_one()
        commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
        conn.rollback()
    warnings = []
    if fsync == "off":
        warnings.append("PostgreSQL runs with fsync=off: a crash of the database or of its "
                        "machine can lose acknowledged writes and corrupt the database")
    if commit == "off":
        warnings.append("PostgreSQL runs with synchronous_commit=off: a crash of the "
                        "database can undo the last writes Roleport acknowledged")
    return warnings


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use 0644 less the
    umask): SQLite gives its -wal, -shm and -journal files the mode of the database file,
    so they are 0600 too. Existing looser files are tightened, with a log line."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            mode = file.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o177:
            os.chmod(file, 0o600)
            log.warning("tightened permissions of %s from %04o to 0600", file, mode)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        record.info["synchronous"] = synchronous
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # what a write replaces or deletes is zeroed, not left readable in free space (a
        # secret sealed at last, a deleted CRL): the file holds only what is live
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        options = conn.get_execution_options()
        # a unit of work that need not be durable commits at NORMAL; any other at the
        # engine's setting (a pragma outside a transaction: no I/O, per connection)
        wanted = synchronous if options.get("sqlite_durable", True) else "NORMAL"
        if conn.info.get("synchronous") != wanted:
            conn.exec_driver_sql(f"PRAGMA synchronous={wanted}")
            conn.info["synchronous"] = wanted
        mode = options.get("sqlite_begin", "DEFERRED")
        if mode != "NONE":
            conn.exec_driver_sql(f"BEGIN {mode}")


def default_sqlite_url(data_dir: str | os.PathLike[str]) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / 'roleport.db'}"
