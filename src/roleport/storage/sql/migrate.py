"""Apply the Alembic migrations (at server start and by ``roleport db upgrade``).

A server restarting on an up-to-date database should be healthy in well under a second;
Alembic alone takes a sizeable part of that to import. So the head revision is written
down here (a test keeps it equal to Alembic's own idea of head) and a database already
at it is recognised with one query, without importing Alembic at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from roleport.storage.sql.engine import is_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

    from roleport.storage.sealing import SecretSealer

_SCRIPTS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x524F4C45  # "ROLE": serialises replicas migrating one PostgreSQL at once

#: the newest revision in migrations/versions (tests/integration checks it against Alembic)
HEAD = "0007"


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def _stored_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, or None (new database, or no table yet)."""
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            conn.rollback()
    except DBAPIError:
        return None
    return None if row is None else str(row[0])


def upgrade(engine: Engine, revision: str = "head", *,
            sealer: SecretSealer | None = None) -> None:
    """Migrate to ``revision``. ``sealer``: the key-encryption key, for the migrations that
    seal stored secrets (0003); a database holding plain-text secrets needs it."""
    if revision == "head" and _stored_revision(engine) == HEAD:
        return
    _run(engine, "upgrade", revision, sealer)


def downgrade(engine: Engine, revision: str, *, sealer: SecretSealer | None = None) -> None:
    """Go back to ``revision`` (below 0003 the secrets are opened: pass the sealer)."""
    _run(engine, "downgrade", revision, sealer)


def _run(engine: Engine, direction: str, revision: str, sealer: SecretSealer | None) -> None:
    from alembic import command

    cfg = _config()
    cfg.attributes["sealer"] = sealer
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if not is_sqlite(engine):
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            cfg.attributes["connection"] = conn
            getattr(command, direction)(cfg, revision)


def current(engine: Engine) -> str | None:
    return _stored_revision(engine)


def script_head() -> str:
    """Alembic's head revision of migrations/versions (for the consistency test)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration script (developers only)."""
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
